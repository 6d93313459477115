/**
 * Issue 13 item 1: one scored transaction, whichever way it comes in. The same transaction scored by the CLI (flags,
 * a CSV file with --explain) and by the built daemon (/api/predict, /api/predict-batch as JSON and as CSV) into one
 * SQLite file reads back identically: through GET /api/transactions/:id, the list, and `transactions show`. The
 * database's rules apply on every way in (issue 15): each answer and stored row has the same decision and rules.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDb } from '../daemon/server-helpers.js';
import { spawnDaemon, type DaemonProcess } from './daemon-process.js';
import { cli } from './run-cli.js';

const TX = { amount: 4800, hour: 3, day_of_week: 6, merchant_category: 9, transaction_type: 2 };
// What legitimately differs between the ways in: where and when it was stored.
const ORIGIN = ['id', 'transaction_id', 'created_at', 'timestamp', 'source', 'data_source', 'batch_id', 'feedback'];
const withoutOrigin = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([k]) => !ORIGIN.includes(k)));

let daemon: DaemonProcess;
const db = tempDb();
const dir = mkdtempSync(join(tmpdir(), 'secureflow-shape-'));

// Rules of the database apply on every way in: the decision and matched rules are part of the one shape.
const RULES = [
  ['night-big', 'amount > 3000 && hour < 5', 'block'],
  ['weekend', 'day_of_week >= 5', 'review'],
  ['vip', 'reference == "vip"', 'allow'],
];
const MATCHED = [
  { name: 'night-big', action: 'block' },
  { name: 'weekend', action: 'review' },
];

beforeAll(async () => {
  for (const [name, when, action] of RULES)
    expect(cli(['rules', 'add', name, '--when', when, '--action', action, '--db', db]).code).toBe(0);
  daemon = await spawnDaemon(['--db', db]);
}, 30_000);
afterAll(async () => {
  await daemon?.stop();
});

async function post(path: string, body: string, type = 'application/json'): Promise<Record<string, unknown>> {
  const r = await fetch(`${daemon.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
  expect(r.status, await r.clone().text()).toBe(200);
  return (await r.json()) as Record<string, unknown>;
}

describe('one scored transaction across the ways in', () => {
  it('stores the same row, explanation included, from the CLI, /api/predict and /api/predict-batch', async () => {
    const ids: Record<string, number> = {};
    const flags = ['--amount', '4800', '--hour', '3', '--day-of-week', '6', '--merchant-category', '9'];
    const single = cli(['score', ...flags, '--transaction-type', '2', '--db', db, '--format', 'json']);
    expect(single.code, single.stderr).toBe(0);
    ids.cliSingle = JSON.parse(single.stdout).transaction_id;
    expect(JSON.parse(single.stdout)).toMatchObject({ decision: 'block', matched_rules: MATCHED });

    const csv = join(dir, 'one.csv');
    writeFileSync(csv, `amount,hour,day_of_week,merchant_category,transaction_type\n4800,3,6,9,2\n`);
    const file = cli(['score', csv, '--explain', '--db', db, '--format', 'ndjson']);
    expect(file.code, file.stderr).toBe(0);
    ids.cliCsv = JSON.parse(file.stdout.trim()).transaction_id;
    expect(JSON.parse(file.stdout.trim())).toMatchObject({ decision: 'block', matched_rules: MATCHED });

    const predicted = await post('/api/predict', JSON.stringify(TX));
    expect(predicted).toMatchObject({ decision: 'block', matched_rules: MATCHED });
    ids.predict = predicted.transaction_id as number;
    const batch = await post('/api/predict-batch', JSON.stringify({ transactions: [TX] }));
    ids.batchJson = (batch.results as { transaction_id: number }[])[0].transaction_id;
    const batchCsv = await post(
      '/api/predict-batch',
      'amount,hour,day_of_week,merchant_category,transaction_type\n4800,3,6,9,2\n',
      'text/csv',
    );
    ids.batchCsv = (batchCsv.results as { transaction_id: number }[])[0].transaction_id;
    for (const answer of [batch, batchCsv])
      expect((answer.results as unknown[])[0]).toMatchObject({ decision: 'block', matched_rules: MATCHED });
    expect(new Set(Object.values(ids)).size).toBe(5);

    // GET /api/transactions/:id: every way in reads back the same, with its whole explanation.
    const details = await Promise.all(
      Object.values(ids).map(async (id) => {
        const r = await fetch(`${daemon.url}/api/transactions/${id}`);
        expect(r.status).toBe(200);
        return withoutOrigin((await r.json()) as Record<string, unknown>);
      }),
    );
    for (const d of details.slice(1)) expect(d).toEqual(details[0]);
    expect(details[0]).toMatchObject({
      ...TX,
      is_anomaly: true,
      risk_level: 'highest',
      decision: 'block',
      matched_rules: MATCHED,
    });
    const explanation = details[0].explanation as Record<string, unknown>;
    expect(Object.keys(explanation).sort()).toEqual(['risk_factors', 'shap_base_value', 'shap_explanation']);
    expect((details[0].risk_factors as unknown[]).length).toBeGreaterThan(0);

    // The list shows the same rows the same way (risk_factors no longer null for batch rows).
    const list = await (await fetch(`${daemon.url}/api/transactions?limit=10`)).json();
    const listed = (list.transactions as Record<string, unknown>[]).map(withoutOrigin);
    expect(listed).toHaveLength(5);
    for (const row of listed) expect(row).toEqual(listed[0]);

    // And the CLI reads each back as the same score result.
    const shown = Object.values(ids).map((id) => {
      const r = cli(['transactions', 'show', String(id), '--db', db, '--format', 'json']);
      expect(r.code, r.stderr).toBe(0);
      return withoutOrigin(JSON.parse(r.stdout));
    });
    for (const s of shown.slice(1)) expect(s).toEqual(shown[0]);
    expect(shown[0]).toMatchObject({ decision: 'block', matched_rules: MATCHED });
  }, 60_000);
});
