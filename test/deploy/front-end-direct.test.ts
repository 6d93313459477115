// The original front end's page-load call, POST /api/warmup with Content-Type: application/json and no body,
// sent byte for byte to the built daemon. It got 400 (Fastify refuses an empty JSON body); the body is unused,
// so it must be 200, while routes that read a body keep their 400 for an empty one.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnDaemon, type DaemonProcess } from '../cli/daemon-process.js';
import { cli } from '../cli/run-cli.js';
import { browserBytes, rawRequest } from './browser-requests.js';

const FRONT_END = 'http://localhost:3000'; // the daemon's default CORS origin: the original's dev server

describe('the front end straight to a keyless loopback daemon (developer set-up, CORS)', () => {
  let daemon: DaemonProcess;
  let port: number;
  let host: string;
  beforeAll(async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'secureflow-frontend-')), 'dev.db');
    daemon = await spawnDaemon(['--db', db]);
    port = Number(new URL(daemon.url).port);
    host = `localhost:${port}`;
  }, 30_000);
  afterAll(async () => {
    expect(await daemon.stop()).toBe(0);
  });

  it('answers the preflight for the JSON POST', async () => {
    const res = await rawRequest(
      port,
      browserBytes({ method: 'OPTIONS', path: '/api/warmup', host, origin: FRONT_END }),
    );
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(FRONT_END);
    expect(res.headers['access-control-allow-headers']?.toLowerCase()).toContain('content-type');
  });

  it('warms up on POST /api/warmup with Content-Type: application/json and Content-Length: 0', async () => {
    const bytes = browserBytes({ method: 'POST', path: '/api/warmup', host, origin: FRONT_END });
    expect(bytes).toMatch(/\r\nContent-Length: 0\r\n/);
    expect(bytes).toMatch(/\r\nContent-Type: application\/json\r\n/);
    expect(bytes.endsWith('\r\n\r\n')).toBe(true);
    const res = await rawRequest(port, bytes);
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ status: 'warmed_up' });
    expect(typeof res.json.warmup_time_seconds).toBe('number');
    expect(typeof res.json.timestamp).toBe('string');
    expect(res.headers['access-control-allow-origin']).toBe(FRONT_END);
  });

  it('still parses a warmup body that is sent, and refuses a malformed one with 400', async () => {
    const ok = await rawRequest(
      port,
      browserBytes({ method: 'POST', path: '/api/warmup', host, origin: FRONT_END, body: '{}' }),
    );
    expect(ok.status).toBe(200);
    const bad = await rawRequest(
      port,
      browserBytes({ method: 'POST', path: '/api/warmup', host, origin: FRONT_END, body: '{"a":' }),
    );
    expect(bad.status).toBe(400);
    expect(bad.json.details.field).toBe('body');
    const poisoned = await rawRequest(
      port,
      browserBytes({ method: 'POST', path: '/api/warmup', host, origin: FRONT_END, body: '{"__proto__":{"x":1}}' }),
    );
    expect(poisoned.status).toBe(400);
  });

  it('keeps 400 naming the body for an empty body where the body is used', async () => {
    for (const path of ['/api/predict', '/api/predict-batch', '/api/feedback']) {
      const res = await rawRequest(port, browserBytes({ method: 'POST', path, host, origin: FRONT_END }));
      expect(res.status, path).toBe(400);
      expect(res.json.error, path).toMatch(/body is empty/);
      expect(res.json.details.field, path).toBe('body');
      expect(res.text, path).not.toMatch(/\n\s+at /); // no stack trace
    }
  });
});

describe('the front end straight to a keyed daemon', () => {
  let daemon: DaemonProcess;
  let port: number;
  let key: string;
  beforeAll(async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'secureflow-frontend-')), 'keyed.db');
    const created = cli(['keys', 'create', '--name', 'frontend', '--role', 'analyst', '--db', db, '--format', 'json']);
    expect(created.code, created.stderr).toBe(0);
    key = JSON.parse(created.stdout).key;
    daemon = await spawnDaemon(['--db', db]);
    port = Number(new URL(daemon.url).port);
  }, 30_000);
  afterAll(async () => {
    expect(await daemon.stop()).toBe(0);
  });

  it('warms up with an analyst key and an empty JSON body', async () => {
    const res = await rawRequest(
      port,
      browserBytes({ method: 'POST', path: '/api/warmup', host: `localhost:${port}`, extra: { 'X-API-Key': key } }),
    );
    expect(res.status, res.text).toBe(200);
    expect(res.json.status).toBe('warmed_up');
  });

  it('refuses the browser without a key (401): deployed, it needs the nginx in front', async () => {
    const res = await rawRequest(
      port,
      browserBytes({ method: 'POST', path: '/api/warmup', host: `localhost:${port}`, origin: FRONT_END }),
    );
    expect(res.status).toBe(401);
  });
});

describe('CORS_ORIGINS for a front end on another origin', () => {
  it('replaces the default list: the configured origin is allowed, http://localhost:3000 no longer', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'secureflow-frontend-')), 'cors.db');
    const daemon = await spawnDaemon(['--db', db], { CORS_ORIGINS: 'https://secureflow.fly.dev' });
    try {
      const port = Number(new URL(daemon.url).port);
      const preflight = (origin: string) =>
        rawRequest(port, browserBytes({ method: 'OPTIONS', path: '/api/warmup', host: `localhost:${port}`, origin }));
      expect((await preflight('https://secureflow.fly.dev')).headers['access-control-allow-origin']).toBe(
        'https://secureflow.fly.dev',
      );
      expect((await preflight(FRONT_END)).headers['access-control-allow-origin']).toBeUndefined();
      const warm = await rawRequest(
        port,
        browserBytes({
          method: 'POST',
          path: '/api/warmup',
          host: `localhost:${port}`,
          origin: 'https://secureflow.fly.dev',
        }),
      );
      expect(warm.status).toBe(200);
      expect(warm.headers['access-control-allow-origin']).toBe('https://secureflow.fly.dev');
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  }, 30_000);
});
