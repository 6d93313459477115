/**
 * Issue 15: the built daemon (a real listening server) applies its database's enabled rules to /api/predict and
 * /api/predict-batch (JSON and CSV bodies), reloads them when they change (here: changed by the CLI, another
 * process, on the same SQLite file), stores the decisions, and counts matches per rule and decisions in /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDb } from '../daemon/server-helpers.js';
import { spawnDaemon, type DaemonProcess } from './daemon-process.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, csvTable } from './run-cli.js';

const db = tempDb();
let daemon: DaemonProcess;

const TX = { amount: 5000, hour: 2, day_of_week: 2, merchant_category: 3, transaction_type: 0 };
const QUIET = { amount: 40, hour: 14, day_of_week: 2, merchant_category: 3, transaction_type: 0 };

function addRule(name: string, when: string, action: string): void {
  const r = cli(['rules', 'add', name, '--when', when, '--action', action, '--db', db]);
  expect(r.code, r.stderr).toBe(0);
}

beforeAll(async () => {
  expect(cli(['migrate', '--db', db]).code).toBe(0);
  addRule('big', 'amount > 3000', 'block');
  addRule('vip', 'merchant == "vip"', 'allow');
  addRule('divides', '100 / (int(hour) - 3) > 1000', 'review');
  daemon = await spawnDaemon(['--db', db]);
}, 30_000);
afterAll(async () => {
  await daemon?.stop();
});

async function post(path: string, body: string, type = 'application/json') {
  const r = await fetch(`${daemon.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
  const text = await r.text();
  expect(r.status, text).toBe(200);
  return JSON.parse(text);
}

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the daemon applies the database rules', () => {
  it('to /api/predict, with legacy fields, storing the decision', async () => {
    const blocked = await post('/api/predict', JSON.stringify(TX));
    expect(blocked).toMatchObject({ decision: 'block', matched_rules: [{ name: 'big', action: 'block' }] });
    expect(blocked.is_anomaly).toBe(true); // still the model's verdict
    const vip = await post('/api/predict', JSON.stringify({ ...TX, merchant: 'vip' }));
    expect(vip).toMatchObject({ decision: 'allow', is_fraudulent: true });
    expect(vip.matched_rules.map((m: { name: string }) => m.name)).toEqual(['big', 'vip']);
    const quiet = await post('/api/predict', JSON.stringify(QUIET));
    expect(quiet).toMatchObject({ decision: 'allow', matched_rules: [] });
    expect(quiet.rule_errors).toBeUndefined();
    const stored = await (await fetch(`${daemon.url}/api/transactions/${vip.transaction_id}`)).json();
    expect(stored).toMatchObject({ decision: 'allow', matched_rules: vip.matched_rules });
    const unstored = await post('/api/predict?store=false', JSON.stringify(TX));
    expect(unstored).toMatchObject({ transaction_id: null, decision: 'block' });
  });

  it('to /api/predict-batch, JSON and CSV: a rule failing on one row is reported there, the others go on', async () => {
    const rows = [TX, { ...QUIET, hour: 3 }, { ...TX, merchant: 'vip' }, QUIET];
    const json = await post('/api/predict-batch', JSON.stringify({ transactions: rows }));
    expect(json.results.map((r: { decision: string }) => r.decision)).toEqual(['block', 'review', 'allow', 'allow']);
    expect(json.results[1].rule_errors).toEqual([{ rule: 'divides', error: expect.any(String) }]);
    expect(json.results.filter((r: { rule_errors?: unknown }) => r.rule_errors)).toHaveLength(1);
    const header = 'amount,hour,day_of_week,merchant_category,transaction_type,merchant';
    const csv = `${header}\n${rows.map((r) => `${r.amount},${r.hour},2,3,0,${'merchant' in r ? r.merchant : ''}`).join('\n')}\n`;
    const fromCsv = await post('/api/predict-batch', csv, 'text/csv');
    expect(fromCsv.results.map((r: { decision: string }) => r.decision)).toEqual(
      json.results.map((r: { decision: string }) => r.decision),
    );
    expect(fromCsv.results.map((r: { matched_rules: unknown }) => r.matched_rules)).toEqual(
      json.results.map((r: { matched_rules: unknown }) => r.matched_rules),
    );
    const listed = await (await fetch(`${daemon.url}/api/transactions?per_page=4`)).json();
    expect(listed.transactions.map((t: { decision: string }) => t.decision).reverse()).toEqual([
      'block',
      'review',
      'allow',
      'allow',
    ]);
  });

  it('reloads the rules when they change, without a restart', async () => {
    addRule('quiet-review', 'amount < 50', 'review');
    await until(async () => (await post('/api/predict?store=false', JSON.stringify(QUIET))).decision === 'review');
    expect(cli(['rules', 'disable', 'big', '--db', db]).code).toBe(0);
    await until(async () => (await post('/api/predict?store=false', JSON.stringify(TX))).matched_rules.length === 0);
    const batch = await post('/api/predict-batch?store=false', JSON.stringify({ transactions: [TX, QUIET] }));
    expect(batch.results.map((r: { decision: string }) => r.decision)).toEqual(['review', 'review']);
    expect(daemon.logs.some((l) => l.includes('"rules loaded"'))).toBe(true);
  });

  it('decides for `secureflow score --remote` (CSV and one transaction): the daemon rules, not the client database', () => {
    const csv = join(mkdtempSync(join(tmpdir(), 'secureflow-rules-remote-')), 'r.csv');
    writeFileSync(
      csv,
      'amount,hour,day_of_week,merchant_category,transaction_type,merchant\n5000,2,2,3,0,vip\n40,14,2,3,0,\n',
    );
    const r = cli(['score', csv, '--remote', daemon.url, '--no-store', '--format', 'csv']);
    expect(r.code, r.stderr).toBe(0);
    expect(csvTable(r.stdout).map((row) => [row.decision, row.matched_rules])).toEqual([
      ['allow', 'vip'], // big is disabled by now; quiet-review does not match 5000
      ['review', 'quiet-review'],
    ]);
    const one = cli(['score', '--remote', daemon.url, '--no-store', '--json', JSON.stringify(TX), '--format', 'json']);
    expect(one.code, one.stderr).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({ decision: 'review', matched_rules: [] });
  });

  it('counts matches per rule and decisions in /metrics', async () => {
    const text = await (await fetch(`${daemon.url}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    expect(value('secureflow_rule_matches_total\\{rule="big"\\}')).toBeGreaterThanOrEqual(6);
    expect(value('secureflow_rule_matches_total\\{rule="vip"\\}')).toBeGreaterThanOrEqual(3);
    expect(value('secureflow_rule_matches_total\\{rule="quiet-review"\\}')).toBeGreaterThanOrEqual(2);
    expect(value('secureflow_decisions_total\\{decision="block"\\}')).toBeGreaterThanOrEqual(4);
    expect(value('secureflow_decisions_total\\{decision="allow"\\}')).toBeGreaterThanOrEqual(4);
    expect(value('secureflow_decisions_total\\{decision="review"\\}')).toBeGreaterThanOrEqual(3);
  });
});
