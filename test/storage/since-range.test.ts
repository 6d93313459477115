/**
 * `since` is validated the same way on both backends: an ISO-8601 date with a year from 1 to 9999, else 400
 * naming the field (daemon) or a usage error, exit 2 (CLI). SQLite used to compare `275760-09-13` as text.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnDaemon } from '../cli/daemon-process.js';
import { cli } from '../cli/run-cli.js';
import { call } from '../daemon/server-helpers.js';
import { adminPool, freshSchema, pgReachable, pgRequired } from '../support/postgres.js';

const admin = adminPool();
const reachable = await pgReachable(admin);
afterAll(() => admin.end());

const BAD = [
  '275760-09-13',
  '+275760-09-13',
  '10000-01-01',
  '0000-01-01',
  '2024-02-30',
  '2024-13-01',
  'Tue, 01 Jan 2030 00:00:00 GMT',
  '2030',
  'yesterday',
];
const GOOD = [
  '2024-01-01',
  '2024-01-01T10:00:00Z',
  '2024-01-01 10:00',
  '2024-02-29T10:00:00.123+01:00',
  '0001-01-01T00:00:00Z',
  '9999-12-31',
];

async function checkBackend(db: string, env: Record<string, string>): Promise<void> {
  const daemon = await spawnDaemon(['--no-auth'], env);
  try {
    expect(
      (
        await call(daemon.url, 'POST', '/api/predict', {
          body: { amount: 1, hour: 1, day_of_week: 1, merchant_category: 1, transaction_type: 0 },
        })
      ).status,
    ).toBe(200);
    for (const since of BAD) {
      const r = await call(daemon.url, 'GET', `/api/transactions?since=${encodeURIComponent(since)}`);
      expect(r.status, since).toBe(400);
      expect(r.json.details.field, since).toBe('since');
      expect(r.json.error).toMatch(/year from 1 to 9999/);
    }
    for (const since of GOOD)
      expect(
        (await call(daemon.url, 'GET', `/api/transactions?since=${encodeURIComponent(since)}`)).status,
        since,
      ).toBe(200);
  } finally {
    await daemon.stop();
  }
  for (const since of BAD) {
    const r = cli(['transactions', 'list', '--since', since, '--db', db]);
    expect(r.code, `${since}: ${r.stderr}`).toBe(2);
    expect(r.stderr).toMatch(/--since/);
  }
  for (const since of GOOD) expect(cli(['transactions', 'list', '--since', since, '--db', db]).code, since).toBe(0);
  expect(cli(['transactions', 'list', '--since', '99999999d', '--db', db]).code).toBe(2);
}

describe('since: one rule for both backends (built daemon and CLI)', () => {
  it('SQLite', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sf-since-')), 's.db');
    await checkBackend(file, { SECUREFLOW_DB: file });
  }, 90_000);

  it.skipIf(!reachable && !pgRequired)(
    'Postgres',
    async () => {
      expect(reachable).toBe(true);
      const { schema, url } = await freshSchema(admin, 'sf_since');
      try {
        await checkBackend(url, { DATABASE_URL: url });
      } finally {
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      }
    },
    90_000,
  );
});
