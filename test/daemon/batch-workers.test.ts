/**
 * Large predict-batch requests are scored and explained on worker threads in the built daemon (issue 13 item 7):
 * the answer is the one this thread computes from the one scored-transaction type, byte for byte but for where the
 * rows were stored, and every row is stored in one go with consecutive ids.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/core/model-source.js';
import { compileRules, type RuleDefinition } from '../../src/core/rules/apply-rules.js';
import { scoreValid, validateTransaction } from '../../src/core/score-transaction.js';
import { toBatchItem } from '../../src/core/scored-views.js';
import { spawnDaemon, type DaemonProcess } from '../cli/daemon-process.js';
import { cli } from '../cli/run-cli.js';
import { adminPool, freshSchema, pgReachable } from '../support/postgres.js';
import { tempDb } from './server-helpers.js';

const ROWS = 3001; // several worker jobs, the last one short
// Some references outside ASCII (2-, 3- and 4-byte UTF-8, a quote): the answer is encoded item by item.
const reference = (i: number) => (i % 7 === 3 ? `réf ${i} € 💳 "q"` : `r${i}`);
const transactions: unknown[] = Array.from({ length: ROWS }, (_, i) => ({
  amount: (i * 7.31) % 5000,
  hour: i % 24,
  day_of_week: i % 7,
  merchant_category: i % 10,
  transaction_type: i % 3,
  reference: reference(i),
}));
const BAD = 17;
transactions[BAD] = { amount: 'lots', hour: 1, day_of_week: 1, merchant_category: 1, transaction_type: 1 }; // bad

/** Rules in the daemon's database: applied to each slice as it comes back from the workers, as in this thread. */
const RULES: RuleDefinition[] = [
  { name: 'big', expression: 'amount > 4000.0', action: 'block', enabled: true },
  { name: 'night', expression: 'hour < 3', action: 'review', enabled: true },
  { name: 'small', expression: 'amount < 50.0 && merchant_category == 4', action: 'allow', enabled: true },
];

let daemon: DaemonProcess;
beforeAll(async () => {
  const db = tempDb();
  for (const r of RULES)
    expect(cli(['rules', 'add', r.name, '--when', r.expression, '--action', r.action, '--db', db]).code).toBe(0);
  daemon = await spawnDaemon(['--db', db]);
}, 30_000);
afterAll(async () => {
  await daemon?.stop();
});

/** The process's thread count (Linux). */
const threads = (pid: number): number =>
  Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

/**
 * The answer as this thread computes it, item by item from the one scored-transaction type (not through
 * scoreAndStore, which the daemon runs): the valid rows scored and explained in one block, each one's answer item.
 */
function inThread(explain: boolean, errorItem: unknown): unknown[] {
  const { model } = loadModel();
  const valid = transactions.flatMap((t, index) => (index === BAD ? [] : [{ index, tx: validateTransaction(t) }]));
  const scored = scoreValid(
    model,
    valid.map((v) => v.tx),
    compileRules(RULES),
  );
  const items: unknown[] = scored.map((t, k) => {
    const item: Record<string, unknown> = toBatchItem(t, valid[k].index, undefined);
    if (!explain) {
      delete item.shap_explanation;
      delete item.risk_factors;
    }
    return item;
  });
  items.splice(BAD, 0, errorItem);
  return items;
}

async function batch(query: string): Promise<{ results: Record<string, unknown>[] } & Record<string, unknown>> {
  const r = await fetch(`${daemon.url}/api/predict-batch${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ transactions }),
  });
  expect(r.status).toBe(200);
  return r.json();
}

describe('predict-batch on worker threads', () => {
  it('answers, unstored, exactly what this thread computes, explained or not', async () => {
    // POST /api/warmup starts the workers (one per core) and has them build their explanation tables.
    const before = threads(daemon.proc.pid!);
    expect((await fetch(`${daemon.url}/api/warmup`, { method: 'POST' })).status).toBe(200);
    if (availableParallelism() > 1) expect(threads(daemon.proc.pid!)).toBeGreaterThanOrEqual(before + 2);
    for (const explain of [true, false]) {
      const answer = await batch(`?store=false&explain=${explain}`);
      expect(answer.results[BAD]).toEqual({ index: BAD, error: expect.stringMatching(/^amount /), field: 'amount' });
      expect(JSON.stringify(answer.results)).toBe(JSON.stringify(inThread(explain, answer.results[BAD])));
      expect(answer).toMatchObject({ total_processed: ROWS, scored: ROWS - 1, errors: 1, batch_id: null });
    }
    // The same workers served both batches and are still there for the next one.
    if (availableParallelism() > 1) expect(threads(daemon.proc.pid!)).toBeGreaterThanOrEqual(before + 2);
  }, 60_000);

  it('stores every row once, ids in input order, and reads them back as answered', async () => {
    const answer = await batch('');
    const expected = inThread(true, answer.results[BAD]);
    const ids = answer.results.filter((r) => !('error' in r)).map((r) => r.transaction_id as number);
    expect(ids).toHaveLength(ROWS - 1);
    ids.forEach((id, k) => {
      expect(id).toBe(ids[0] + k);
    });
    // Stored, the answer is the unstored one with ids filled in.
    const withoutIds = answer.results.map((r) => ('error' in r ? r : { ...r, transaction_id: null }));
    expect(JSON.stringify(withoutIds)).toBe(JSON.stringify(expected));
    const last = answer.results[ROWS - 1];
    const r = await fetch(`${daemon.url}/api/transactions/${last.transaction_id}`);
    const stored = await r.json();
    expect(stored).toMatchObject({
      reference: reference(ROWS - 1),
      batch_id: answer.batch_id,
      anomaly_score: last.anomaly_score,
      shap_explanation: last.shap_explanation,
      risk_factors: last.risk_factors,
      decision: last.decision,
      matched_rules: last.matched_rules,
    });
    // The rules decided: every action occurs among the answers.
    const decisions = new Set(answer.results.filter((r) => !('error' in r)).map((r) => r.decision));
    expect([...decisions].sort()).toEqual(['allow', 'block', 'review']);
  }, 60_000);
});

describe('predict-batch on worker threads, stored in Postgres', () => {
  it('copies each slice as it comes back: every row once, ids in input order, read back as answered', async () => {
    const admin = adminPool();
    if (!(await pgReachable(admin))) {
      await admin.end();
      return; // no Postgres here: the SQLite case above still runs
    }
    const { schema, url } = await freshSchema(admin, 'sf_batch_workers');
    let pgDaemon: DaemonProcess | undefined;
    try {
      for (const r of RULES)
        expect(cli(['rules', 'add', r.name, '--when', r.expression, '--action', r.action, '--db', url]).code).toBe(0);
      pgDaemon = await spawnDaemon(['--db', url]);
      const r = await fetch(`${pgDaemon.url}/api/predict-batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ transactions }),
      });
      expect(r.status).toBe(200);
      const answer = (await r.json()) as { results: Record<string, unknown>[]; batch_id: string };
      const ids = answer.results.filter((x) => !('error' in x)).map((x) => x.transaction_id as number);
      expect(ids).toHaveLength(ROWS - 1);
      ids.forEach((id, k) => {
        expect(id).toBe(ids[0] + k);
      });
      const withoutIds = answer.results.map((x) => ('error' in x ? x : { ...x, transaction_id: null }));
      expect(JSON.stringify(withoutIds)).toBe(JSON.stringify(inThread(true, answer.results[BAD])));
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.transactions`);
      expect(rows[0].n).toBe(ROWS - 1);
      for (const k of [0, 1500, ROWS - 1]) {
        const item = answer.results[k];
        const stored = await (await fetch(`${pgDaemon.url}/api/transactions/${item.transaction_id}`)).json();
        expect(stored).toMatchObject({
          reference: reference(k),
          batch_id: answer.batch_id,
          anomaly_score: item.anomaly_score,
          shap_explanation: item.shap_explanation,
          risk_factors: item.risk_factors,
          decision: item.decision,
          matched_rules: item.matched_rules,
        });
      }
    } finally {
      await pgDaemon?.stop();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
      await admin.end();
    }
  }, 60_000);
});
