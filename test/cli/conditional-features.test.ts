import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
// The scenario suite's generator (plain ESM): merchant categories with their own amounts, hours and types.
import { generateScenario, HEADER, SCENARIOS } from '../../bench/scenarios/generators.mjs';
import { parseModel } from '../../src/model/model-file.js';
import { IsolationForestModel } from '../../src/model/model.js';
import { cli, csvTable } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'secureflow-conditional-'));
const train = join(dir, 'train.csv');
const test = join(dir, 'test.csv');

function json(path: string): Record<string, unknown> & { conditional?: { name: string }[] } {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function evaluate(model: string): { roc_auc: number; pr_auc: number } {
  const r = cli(['evaluate', test, '--label-column', 'is_fraud', '--model', model, '--format', 'json']);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

describe('secureflow train: conditional features', () => {
  beforeAll(() => {
    const mixed = SCENARIOS.find((s) => s.name === 'mixed');
    if (!mixed) throw new Error('no mixed scenario');
    const rows = generateScenario(mixed, 120_000, 7).rows;
    const text = (part: (number | string)[][]) => `${[HEADER, ...part.map((r) => r.join(','))].join('\n')}\n`;
    writeFileSync(train, text(rows.slice(0, 40_000)));
    writeFileSync(test, text(rows.slice(40_000)));
  });

  it('by default (auto) adds them where categories differ, records them, and gives the same bytes each time', () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    expect(cli(['train', train, '--label-column', 'is_fraud', '--out', a, '-f', 'json']).code).toBe(0);
    expect(cli(['train', train, '--label-column', 'is_fraud', '--out', b, '-f', 'json']).code).toBe(0);
    expect(readFileSync(b, 'utf8')).toBe(readFileSync(a, 'utf8'));
    const doc = json(a);
    expect(doc.formatVersion).toBe(2);
    expect(doc.conditional!.map((c) => c.name)).toEqual([
      'amount_for_category',
      'hour_for_category',
      'type_for_category',
      'day_for_category',
    ]);
    expect(doc.options).toMatchObject({ conditionalFeatures: 'auto', conditionalWeight: 1.5 });
    expect(doc.conditional!.map((c) => (c as { rule?: string }).rule)).toEqual([
      'robust-z-log-cent',
      'log-share-rare',
      'log-share-rare',
      'log-share-rare',
    ]);
    const none = join(dir, 'none.json');
    const args = ['train', train, '--label-column', 'is_fraud', '--out', none, '--conditional-features', 'none'];
    expect(cli(args).code).toBe(0);
    expect(json(none).formatVersion).toBe(1);
    expect(json(none).conditional).toBeUndefined();
    // models show lists them with what they read and why auto kept them.
    const db = join(dir, 'models.db');
    expect(cli(['train', train, '--label-column', 'is_fraud', '--out', b, '--db', db, '--register']).code).toBe(0);
    const shown = cli(['models', 'show', String(doc.id), '--db', db, '--format', 'json']);
    expect(shown.code, shown.stderr).toBe(0);
    const lineage = JSON.parse(shown.stdout).conditional_features;
    expect(lineage.map((c: { name: string }) => c.name)).toEqual(doc.conditional!.map((c) => c.name));
    expect(lineage[0]).toMatchObject({
      reads: ['amount', 'merchant_category'],
      chosen: { rule: 'chi-square-independence' },
    });
    expect(lineage[0].chosen.cramersV).toBeGreaterThanOrEqual(0.2);
    const text = cli(['models', 'show', String(doc.id), '--db', db, '--format', 'table']).stdout;
    expect(text).toMatch(/conditional feature hour_for_category \(reads hour, merchant_category\): kept/);
    // What they are for: fraud that is odd only for its category.
    const withThem = evaluate(a);
    const without = evaluate(none);
    expect(withThem.roc_auc).toBeGreaterThan(without.roc_auc + 0.02);
    expect(withThem.pr_auc).toBeGreaterThan(without.pr_auc);
  });

  it('scores (80,000 rows, several chunks) and explains byte-identically whatever the number of workers', () => {
    const model = join(dir, 'a.json');
    const one = cli(['score', '--no-store', test, '--model', model, '--workers', '1', '-q']);
    const two = cli(['score', '--no-store', test, '--model', model, '--workers', '2', '-q']);
    expect(one.code).toBe(0);
    expect(two.stdout).toBe(one.stdout);
    expect(csvTable(one.stdout)).toHaveLength(80_000);
    // Explained by the tables (shap-table.ts), tens of microseconds a row: the whole file, in several chunks.
    const e1 = cli(['score', '--no-store', test, '--model', model, '--workers', '1', '--explain', '-q']);
    const e2 = cli(['score', '--no-store', test, '--model', model, '--workers', '2', '--explain', '-q']);
    expect(e1.code).toBe(0);
    expect(e2.stdout).toBe(e1.stdout);
    const rows = csvTable(e1.stdout);
    expect(rows).toHaveLength(80_000);
    expect(rows.map((r) => r.anomaly_score)).toEqual(csvTable(one.stdout).map((r) => r.anomaly_score));
    // The values the 32-coalition walk gives row by row (a model without the tables), to the 6 decimals printed.
    const reference = new IsolationForestModel(parseModel(readFileSync(model, 'utf8')));
    const fields = ['amount', 'hour', 'day_of_week', 'merchant_category', 'transaction_type'] as const;
    for (const row of rows.slice(0, 300)) {
      const shap = reference.explain(fields.map((f) => Number(row[f]))).shap;
      for (const f of fields) expect(Math.abs(Number(row[`shap_${f}`]) - shap[f])).toBeLessThanOrEqual(5.1e-7);
    }
    // Explanations are over the five fields, not the internal columns.
    expect(Object.keys(rows[0]).filter((k) => k.startsWith('shap_'))).toEqual([
      'shap_amount',
      'shap_hour',
      'shap_day_of_week',
      'shap_merchant_category',
      'shap_transaction_type',
    ]);
  });

  it('refuses an unknown choice, naming the flag', () => {
    const r = cli(['train', train, '--out', join(dir, 'x.json'), '--conditional-features', 'some']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--conditional-features/);
    for (const bad of ['0', '1.25', 'x', '65']) {
      const w = cli(['train', train, '--out', join(dir, 'x.json'), '--conditional-weight', bad]);
      expect(w.code).toBe(2);
      expect(w.stderr).toMatch(/--conditional-weight/);
      expect(w.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  });

  it('--conditional-weight: recorded, and the trees it grows find conditional fraud better than weight 1', () => {
    const one = join(dir, 'w1.json');
    const four = join(dir, 'w4.json');
    expect(cli(['train', train, '--label-column', 'is_fraud', '--out', one, '--conditional-weight', '1']).code).toBe(0);
    expect(cli(['train', train, '--label-column', 'is_fraud', '--out', four, '--conditional-weight', '4']).code).toBe(
      0,
    );
    expect(json(one).options).toMatchObject({ conditionalWeight: 1 });
    expect(json(four).options).toMatchObject({ conditionalWeight: 4 });
    // The mixed scenario: most of its fraud is odd only for the category.
    expect(evaluate(four).pr_auc).toBeGreaterThan(evaluate(one).pr_auc);
    // Without conditional features the weight has nothing to weigh: not recorded, same file as before it existed.
    const plain = join(dir, 'plain-w4.json');
    const args = ['--label-column', 'is_fraud', '--conditional-features', 'none', '--conditional-weight', '4'];
    expect(cli(['train', train, '--out', plain, ...args]).code).toBe(0);
    expect(json(plain).options).not.toHaveProperty('conditionalWeight');
  });
});
