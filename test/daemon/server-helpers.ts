import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { formatKey, newKeySecret } from '../../src/core/api-keys.js';
import { openStore, resolveDatabase } from '../../src/db/open-store.js';
import type { Role } from '../../src/db/store.js';
import { SERVE_DEFAULTS, type ServeOptions } from '../../src/daemon/options.js';
import { startServer, type RunningServer } from '../../src/daemon/server.js';

export function tempDb(): string {
  return join(mkdtempSync(join(tmpdir(), 'secureflow-daemon-')), 'daemon.db');
}

export interface TestServer extends RunningServer {
  /** Every log line written so far. */
  logs: string[];
  dbPath: string;
}

/** A real daemon listening on a free loopback port, over a fresh SQLite file unless `db` says otherwise. */
export async function startTestServer(overrides: Partial<ServeOptions> = {}): Promise<TestServer> {
  const dbPath = overrides.db ?? tempDb();
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, done) {
      logs.push(
        ...String(chunk)
          .split('\n')
          .filter((l) => l !== ''),
      );
      done();
    },
  });
  // No load shedding in-process: the daemon's event loop is the test worker's, which other suites load; shedding is
  // tested on the built daemon (test/daemon/overload.test.ts).
  const server = await startServer(
    {
      ...SERVE_DEFAULTS,
      corsOrigins: [...SERVE_DEFAULTS.corsOrigins],
      port: 0,
      logLevel: 'info',
      maxEventLoopDelayMs: 0,
      ...overrides,
      db: dbPath,
    },
    { logStream },
  );
  return Object.assign(server, { logs, dbPath });
}

/** Creates an API key in a database, as `secureflow keys create` does; returns the key. */
export async function createKey(db: string, role: Role, name = `${role} key`): Promise<string> {
  const store = await openStore(resolveDatabase(db, {}));
  try {
    const { secret, hash } = await newKeySecret();
    const row = await store.createKey(name, role, hash);
    return formatKey(row.id, secret);
  } finally {
    await store.close();
  }
}

/**
 * One request: over HTTP when `base` is a URL, in-process (app.inject, no socket) when it is the app itself.
 * Either way the answer has the same shape.
 */
export async function call(
  base: string | FastifyInstance,
  method: string,
  path: string,
  opts: { body?: unknown; raw?: string; contentType?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  const headers: Record<string, string> = { ...opts.headers };
  let body: string | undefined;
  if (opts.raw !== undefined) {
    body = opts.raw;
    headers['content-type'] = opts.contentType ?? 'application/json';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = opts.contentType ?? 'application/json';
  }
  if (typeof base !== 'string') {
    const res = await base.inject({
      method: method as 'GET',
      url: path,
      headers,
      ...(body === undefined ? {} : { payload: body }),
    });
    const answer = new Headers();
    for (const [k, v] of Object.entries(res.headers))
      for (const one of [v].flat()) if (one !== undefined) answer.append(k, String(one));
    return { status: res.statusCode, headers: answer, json: parseJson(res.body), text: res.body };
  }
  const res = await fetch(`${base}${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: parseJson(text), text };
}

function parseJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
