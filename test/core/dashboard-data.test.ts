/**
 * The dashboard's data (core/dashboard-data.ts, behind `secureflow dashboard` and GET /api/dashboard) reads a
 * fixed number of queries per refresh, however many flagged rows it shows (it once read two more per row), on
 * both backends; and each flagged row still carries its verdict and top factor.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { dashboardData } from '../../src/core/dashboard-data.js';
import { readModelText } from '../../src/core/model-source.js';
import { storedResult } from '../../src/core/stored-result.js';
import { openStore, resolveDatabase } from '../../src/db/open-store.js';
import type { Store } from '../../src/db/store.js';
import { newTransaction } from '../db/store-contract.js';
import { adminPool, freshSchema, pgReachable, pgRequired } from '../support/postgres.js';

/** Counts the SQL statements either backend runs (better-sqlite3 statement calls, pg client queries). */
function countQueries(): { count(): number; restore(): void } {
  let n = 0;
  const memory = new Database(':memory:');
  const statement = Object.getPrototypeOf(memory.prepare('SELECT 1')) as Record<string, unknown>;
  memory.close();
  const targets: [Record<string, unknown>, string][] = [
    ...['get', 'all', 'run', 'iterate'].map((m) => [statement, m] as [Record<string, unknown>, string]),
    [pg.Client.prototype as unknown as Record<string, unknown>, 'query'],
  ];
  const saved = targets.map(([o, m]) => [o, m, o[m]] as const);
  for (const [o, m, original] of saved) {
    o[m] = function (this: unknown, ...args: unknown[]) {
      n++;
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
  return {
    count: () => n,
    restore: () => {
      for (const [o, m, original] of saved) o[m] = original;
    },
  };
}

async function fill(store: Store): Promise<number[]> {
  const bundled = readModelText().doc.id;
  const explanation = {
    shap_explanation: { amount: 0.4 },
    risk_factors: [{ feature: 'amount', description: 'a large amount', impact: 0.4 }],
  };
  const ids = await store.insertTransactions(
    Array.from({ length: 14 }, (_, i) =>
      newTransaction({
        is_fraudulent: i % 7 !== 3, // 12 flagged, 2 not
        amount: 100 + i * 900,
        risk_score: 90,
        risk_level: 'highest',
        model_version: bundled,
        explanation: i % 2 ? explanation : null, // the rest explained again from the model
      }),
    ),
  );
  await store.upsertFeedback(ids[13], true, null);
  await store.upsertFeedback(ids[12], false, 'not fraud');
  await store.upsertFeedback(ids[3], true, null);
  return ids;
}

async function checkRefresh(store: Store): Promise<{ one: number; ten: number }> {
  await fill(store);
  const q = { days: 1, buckets: 48, modelVersion: 'm' };
  await dashboardData(store, { ...q, flagged: 10 }); // warms the model cache (the bundled model is never read)
  const counter = countQueries();
  let one: number;
  let ten: number;
  let data: Awaited<ReturnType<typeof dashboardData>>;
  try {
    await dashboardData(store, { ...q, flagged: 1 });
    one = counter.count();
    data = await dashboardData(store, { ...q, flagged: 10 });
    ten = counter.count() - one;
  } finally {
    counter.restore();
  }
  expect(ten).toBe(one);
  // The same rows, verdicts and top factors as reading each row on its own.
  const listed = await store.listTransactions({ anomaliesOnly: true, since: new Date(data.since), limit: 10 });
  expect(data.recent_flagged.map((r) => r.id)).toEqual(listed.rows.map((r) => r.id));
  for (const [i, row] of listed.rows.entries()) {
    const full = await store.getTransaction(row.id);
    const top = (await storedResult(store, row)).risk_factors[0];
    expect(data.recent_flagged[i]).toStrictEqual({
      id: row.id,
      created_at: row.created_at,
      amount: row.amount,
      hour: row.hour,
      anomaly_score: row.anomaly_score,
      risk_score: row.risk_score,
      risk_level: row.risk_level,
      top_factor: top ? { feature: top.feature, description: top.description } : null,
      feedback: full!.feedback ? full!.feedback.is_correct : null,
    });
  }
  expect(data.recent_flagged.map((r) => r.feedback)).toEqual([true, false, ...Array(8).fill(null)]);
  return { one, ten };
}

describe('dashboard data', () => {
  it('sqlite: as many queries for 10 flagged rows as for 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'secureflow-dash-'));
    const store = await openStore(resolveDatabase(join(dir, 'd.db'), {}));
    try {
      await checkRefresh(store);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const admin = adminPool();
  afterAll(() => admin.end());
  it('postgres: as many queries for 10 flagged rows as for 1', async (ctx) => {
    if (!(await pgReachable(admin))) {
      if (pgRequired) throw new Error('Postgres unreachable (SECUREFLOW_REQUIRE_POSTGRES=1)');
      ctx.skip();
    }
    const { schema, url } = await freshSchema(admin, 'sf_dash');
    const store = await openStore(resolveDatabase(url, {}));
    try {
      await checkRefresh(store);
    } finally {
      await store.close();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    }
  });
});
