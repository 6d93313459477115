/** `secureflow serve` as a process: start-up checks, graceful shutdown with requests in flight, no keys in logs. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './run-cli.js';
import { spawnDaemon } from './daemon-process.js';
import { createKey, tempDb } from '../daemon/server-helpers.js';

const tx = { amount: 10, hour: 12, day_of_week: 1, merchant_category: 2, transaction_type: 0 };

describe('secureflow serve', () => {
  it('finishes in-flight requests on SIGTERM, refuses new ones, and exits 0 within 10 s', async () => {
    // debug: the daemon logs each request as it arrives (the signal below that it has this one).
    const daemon = await spawnDaemon(['--db', tempDb()], { LOG_LEVEL: 'debug' });
    const body = JSON.stringify({ transactions: Array.from({ length: 10_000 }, (_, i) => ({ ...tx, amount: i })) });
    const inflight = fetch(`${daemon.url}/api/predict-batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    // SIGTERM once the daemon has the request (a fixed pause raced it on a loaded machine: 503, shutting down).
    for (
      let i = 0;
      i < 500 && !daemon.logs.some((l) => l.includes('"incoming request"') && l.includes('/api/predict-batch'));
      i++
    ) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const t0 = Date.now();
    daemon.proc.kill('SIGTERM');
    const res = await inflight;
    expect(res.status).toBe(200);
    expect((await res.json()).results).toHaveLength(10_000);
    const code = await daemon.exited;
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await expect(fetch(`${daemon.url}/api/health`)).rejects.toThrow();
    const lines = daemon.logs.map((l) => JSON.parse(l));
    expect(lines.some((l) => /shutting down/.test(l.msg))).toBe(true);
    expect(lines.at(-1).msg).toBe('stopped');
    // Nothing on stderr from a clean start and stop: no library deprecation notices (Fastify 5.12's FSTDEP023).
    expect(daemon.stderr()).toBe('');
  });

  it('takes HOST from the environment, as on Fly', async () => {
    const db = tempDb();
    const key = await createKey(db, 'scorer');
    const daemon = await spawnDaemon(['--db', db], { HOST: '0.0.0.0' });
    try {
      expect(daemon.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
      const port = new URL(daemon.url).port;
      const r = await fetch(`http://127.0.0.1:${port}/api/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify(tx),
      });
      expect(r.status).toBe(200);
      expect(daemon.logs.join('\n')).not.toContain(key.slice(key.indexOf('_', 3) + 1));
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  });

  it('refuses to start on a public address without keys (exit 2), and says how to fix it', () => {
    const r = cli(['serve', '--host', '0.0.0.0', '--port', '0', '--db', tempDb()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to serve on 0\.0\.0\.0 without API keys.*keys create.*--no-auth/);
  });

  it('names a busy port (exit 6)', async () => {
    const daemon = await spawnDaemon(['--db', tempDb()]);
    try {
      const port = new URL(daemon.url).port;
      const r = cli(['serve', '--port', port, '--db', tempDb()]);
      expect(r.code).toBe(6);
      expect(r.stderr).toMatch(new RegExp(`port ${port} .*already in use`));
    } finally {
      await daemon.stop();
    }
  });

  it('names a database it cannot open (exit 6), not an internal error', () => {
    const file = tempDb();
    writeFileSync(file, 'not a folder');
    const r = cli(['serve', '--port', '0', '--db', join(file, 'x.db'), '--log-level', 'silent']);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(new RegExp(`^secureflow: cannot open ${join(file, 'x.db')}: .*\n$`));
    expect(r.stderr).not.toMatch(/internal error|at /);
  });
});
