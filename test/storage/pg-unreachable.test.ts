/**
 * A Postgres URL whose password holds unencoded '?', '#', '@' and '/', pointing at a port with nothing listening:
 * neither the built CLI nor the built daemon may print the password, and the daemon logs why it has no database.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { spawnDaemon } from '../cli/daemon-process.js';
import { cli } from '../cli/run-cli.js';
import { call } from '../daemon/server-helpers.js';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

const PASSWORD = 'Sup3r?sekr#it@pa/ss';
// Every piece a naive split at '?', '#', '@' or '/' would leave in view.
const PIECES = ['Sup3r', 'sekr', 'it@pa', 'pa/ss', PASSWORD, encodeURIComponent(PASSWORD)];

function expectNoPassword(text: string): void {
  for (const piece of PIECES) expect(text, `leaked ${piece}`).not.toContain(piece);
}

describe('a Postgres password with URL delimiters in it', () => {
  it('is never printed by the CLI', async () => {
    const port = await closedPort();
    const url = `postgres://app:${PASSWORD}@127.0.0.1:${port}/db`;
    for (const env of [{ SECUREFLOW_DB: url }, { SECUREFLOW_DB: '', DATABASE_URL: url }] as Record<string, string>[]) {
      const r = cli(['transactions', 'list'], { env });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/postgres:\/\/app:\*\*\*@127\.0\.0\.1/);
      expectNoPassword(r.stdout + r.stderr);
    }
    const withDb = cli(['migrate', '--db', url]);
    expect(withDb.code).not.toBe(0);
    expectNoPassword(withDb.stdout + withDb.stderr);
  }, 60_000);

  it('is never logged by the daemon, which logs why the database is unavailable', async () => {
    const port = await closedPort();
    // A password pg can parse (percent-encoded), so that the reason is the refused connection itself.
    const encoded = `postgres://app:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/db`;
    const raw = `postgres://app:${PASSWORD}@127.0.0.1:${port}/db`;
    for (const [url, reason] of [
      [encoded, /ECONNREFUSED/],
      [raw, /./],
    ] as const) {
      const daemon = await spawnDaemon(['--no-auth'], { DATABASE_URL: url });
      try {
        const health = await call(daemon.url, 'GET', '/api/health');
        expect(health.json.status).toBe('degraded');
        const line = daemon.logs.map((l) => JSON.parse(l)).find((l) => /database unavailable/.test(l.msg));
        expect(line, daemon.logs.join('\n')).toBeDefined();
        expect(line.reason).toMatch(reason);
        expect(line.database).toMatch(/^postgres:\/\/app:\*\*\*@127\.0\.0\.1/);
        expectNoPassword(daemon.logs.join('\n') + health.text);
      } finally {
        await daemon.stop();
      }
    }
  }, 60_000);
});
