/**
 * Group commit isolation on the built daemon: concurrent predictions are stored in one transaction, and one row
 * the database refuses (a NUL in `reference`) must fail only its own request. Both backends refuse the same value.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnDaemon } from '../cli/daemon-process.js';
import { call } from '../daemon/server-helpers.js';
import { adminPool, freshSchema, pgReachable, pgRequired } from '../support/postgres.js';
import Database from 'better-sqlite3';

const admin = adminPool();
const reachable = await pgReachable(admin);
afterAll(() => admin.end());

const good = (i: number) =>
  JSON.stringify({
    amount: 10 + i,
    hour: 12,
    day_of_week: 1,
    merchant_category: 2,
    transaction_type: 0,
    reference: `good-${i}`,
  });
// Raw JSON text: "\u0000" is the escape, which JSON.parse turns into a NUL character.
const bad = (i: number) =>
  `{"amount": 5, "hour": 1, "day_of_week": 1, "merchant_category": 1, "transaction_type": 0, "reference": "bad-${i}\\u0000x"}`;

async function flood(
  url: string,
): Promise<{ good: { status: number; id: number | null; ref: string }[]; bad: { status: number; text: string }[] }> {
  const goods: { status: number; id: number | null; ref: string }[] = [];
  const bads: { status: number; text: string }[] = [];
  // Several rounds of 60 concurrent requests, a few bad ones among them: they share group commits.
  for (let round = 0; round < 4; round++) {
    await Promise.all(
      Array.from({ length: 60 }, async (_, k) => {
        const i = round * 60 + k;
        if (k % 15 === 7) {
          const r = await call(url, 'POST', '/api/predict', { raw: bad(i) });
          bads.push({ status: r.status, text: r.text });
        } else {
          const r = await call(url, 'POST', '/api/predict', { raw: good(i) });
          goods.push({ status: r.status, id: r.json?.transaction_id ?? null, ref: `good-${i}` });
        }
      }),
    );
  }
  return { good: goods, bad: bads };
}

function expectIsolated(result: Awaited<ReturnType<typeof flood>>, stored: Map<number, string>): void {
  const failed = result.good.filter((g) => g.status !== 200);
  console.log(
    `group commit: ${result.good.length - failed.length}/${result.good.length} good requests 200, bad: ${JSON.stringify([...new Set(result.bad.map((b) => b.status))])}`,
  );
  expect(failed.length, JSON.stringify(failed.slice(0, 3))).toBe(0);
  for (const g of result.good) expect(stored.get(g.id!)).toBe(g.ref);
  for (const b of result.bad) {
    expect(b.status).toBe(400);
    expect(b.text).toMatch(/reference/);
    expect(b.text).not.toMatch(/\n\s+at /); // no stack trace
  }
  expect([...stored.values()].filter((ref) => ref.startsWith('bad-'))).toEqual([]);
}

describe('group commit isolation (built daemon)', () => {
  it('SQLite: the bad rows get 400, every good one is stored', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sf-group-')), 'g.db');
    const daemon = await spawnDaemon(['--no-auth', '--db', file]);
    try {
      const result = await flood(daemon.url);
      const db = new Database(file, { readonly: true });
      const rows = db.prepare('SELECT id, reference FROM transactions').all() as { id: number; reference: string }[];
      db.close();
      expectIsolated(result, new Map(rows.map((r) => [r.id, r.reference])));
    } finally {
      await daemon.stop();
    }
  }, 60_000);

  it.skipIf(!reachable && !pgRequired)(
    'Postgres: the bad rows get 400, every good one is stored',
    async () => {
      expect(reachable).toBe(true);
      const { schema, url } = await freshSchema(admin, 'sf_group');
      const daemon = await spawnDaemon(['--no-auth'], { DATABASE_URL: url });
      try {
        const result = await flood(daemon.url);
        const { rows } = await admin.query(`SELECT id, reference FROM ${schema}.transactions`);
        expectIsolated(result, new Map(rows.map((r) => [Number(r.id), r.reference as string])));
      } finally {
        await daemon.stop();
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      }
    },
    60_000,
  );
});
