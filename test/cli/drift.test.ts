import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, fixture } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'secureflow-drift-'));
// No database anywhere unless a test makes one: drift then scores with the bundled model.
const noDb = { SECUREFLOW_DB: join(dir, 'none.db') };
const FEATURES = ['amount', 'hour', 'day_of_week', 'merchant_category', 'transaction_type'];

/** The original system's 1,100-row sample with every amount x10 and every transaction at 3 am. */
const shifted = join(dir, 'shifted.csv');
{
  const [header, ...rows] = readFileSync(fixture('labelled.csv'), 'utf8').trim().split('\n');
  const moved = rows.map((row) => {
    const cells = row.split(',');
    cells[0] = String(Number(cells[0]) * 10);
    cells[1] = '3';
    return cells.join(',');
  });
  writeFileSync(shifted, `${[header, ...moved].join('\n')}\n`);
}

function expectShape(doc: Record<string, unknown>): void {
  expect(Object.keys(doc)).toEqual(['features', 'score', 'drifted']);
  const figure = ['psi', 'band', 'drifted', 'largest_shift'];
  const features = doc.features as Record<string, unknown>[];
  expect(features.map((f) => f.name)).toEqual(FEATURES);
  for (const f of features) {
    expect(Object.keys(f)).toEqual(['name', ...figure]);
    expect(typeof f.psi).toBe('number');
    expect(typeof f.drifted).toBe('boolean');
  }
  expect(Object.keys(doc.score as object)).toEqual(figure);
  expect(typeof doc.drifted).toBe('boolean');
}

describe('secureflow drift', () => {
  it("the original system's sample (fixtures/labelled.csv, 1,100 rows) has not drifted from the bundled model's training", () => {
    const r = cli(['drift', fixture('labelled.csv'), '--fail-on-drift'], { env: noDb });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expectShape(doc);
    expect(doc.drifted).toBe(false);
    for (const f of [...doc.features, doc.score]) {
      expect(f.psi).toBeLessThan(0.05);
      expect(f).toMatchObject({ band: 'stable', drifted: false });
    }
    expect(r.stderr).toContain('1,100 rows against model 234809ab3f46da50 (bundled default model)');
    expect(r.stderr).not.toContain('noise');
    expect(existsSync(noDb.SECUREFLOW_DB)).toBe(false);
  });

  it('the 10-row fixture reads as drifted, and stderr says 10 rows are mostly noise for PSI', () => {
    const r = cli(['drift', fixture('transactions.csv')], { env: noDb });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expectShape(doc);
    // Six of its ten amounts are above the training's 90th percentile (it is a demo file of anomalies).
    expect(doc.features[0]).toMatchObject({ name: 'amount', drifted: true });
    expect(doc.features[0].largest_shift).toEqual({ bin: '> 89.2', expected: 0.1, actual: 0.6 });
    expect(r.stderr).toMatch(/note: PSI from 10 rows is mostly sampling noise/);
  });

  it('amounts x10 at 3 am: drifted (amount, hour, score), exit 10 with --fail-on-drift naming them', () => {
    const plain = cli(['drift', shifted], { env: noDb });
    expect(plain.code).toBe(0);
    const doc = JSON.parse(plain.stdout);
    expectShape(doc);
    const psi = Object.fromEntries(doc.features.map((f: { name: string; psi: number }) => [f.name, f.psi]));
    expect(doc.drifted).toBe(true);
    expect(psi.amount).toBeGreaterThanOrEqual(0.25);
    expect(psi.hour).toBeGreaterThanOrEqual(0.25);
    expect(doc.score.drifted).toBe(true);
    // What was not moved stays as it was in the original sample.
    expect(psi.day_of_week).toBeLessThan(0.1);
    expect(psi.transaction_type).toBeLessThan(0.1);
    expect(doc.features[1].largest_shift).toMatchObject({ bin: '<= 9', actual: 1 });

    const gated = cli(['drift', shifted, '--fail-on-drift'], { env: noDb });
    expect(gated.code).toBe(10);
    expect(JSON.parse(gated.stdout)).toEqual(doc);
    expect(gated.stderr).toContain(
      'secureflow: drifted from the training distribution: amount, hour, anomaly_score (--fail-on-drift)',
    );
  });

  it('--format text on a pipe prints the aligned table and the verdict', () => {
    const r = cli(['drift', shifted, '--format', 'text', '-q'], { env: noDb });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^feature\s+psi\s+band\s+largest shift \(training -> traffic\)$/);
    expect(lines.slice(1, 7).map((l) => l.split(/\s+/)[0])).toEqual([...FEATURES, 'anomaly_score']);
    // Aligned: every row's psi starts in the header's psi column.
    const at = lines[0].indexOf('psi');
    for (const line of lines.slice(1, 7)) expect(line.slice(at)).toMatch(/^\d+\.\d{4} {2}/);
    expect(lines[2]).toMatch(/^hour\s+\d+\.\d{4}\s+drifted\s+<= 9: 17\.5% -> 100\.0%$/);
    expect(lines[3]).toMatch(/^day_of_week\s+0\.\d{4}\s+stable/);
    expect(lines.at(-1)).toBe('drifted (1,100 rows; PSI < 0.1 stable, 0.1-0.25 watch, >= 0.25 drifted)');
    expect(r.stdout).not.toContain('\u001b[');
  });

  it('reads stdin and several files as score does (export dialect flags included)', () => {
    const stdin = cli(['drift', '-', '-q'], { input: readFileSync(fixture('labelled.csv'), 'utf8'), env: noDb });
    const file = cli(['drift', fixture('labelled.csv'), '-q'], { env: noDb });
    expect(stdin.code).toBe(0);
    expect(stdin.stdout).toBe(file.stdout);
    // The German export holds the same ten transactions as transactions.csv: the same figures.
    const german = cli(
      [
        'drift',
        fixture('export-semicolon-eu.csv'),
        '--decimal',
        ',',
        '--column',
        'amount=Betrag',
        '--column',
        'merchant_category=Händler Kategorie',
        '--column',
        'transaction_type=Typ',
        '--column',
        'hour=Stunde',
        '--column',
        'day_of_week=Wochentag',
        '-q',
      ],
      { env: noDb },
    );
    expect(german.code).toBe(0);
    expect(german.stdout).toBe(cli(['drift', fixture('transactions.csv'), '-q'], { env: noDb }).stdout);
    const both = cli(['drift', fixture('labelled.csv'), shifted, '-q'], { env: noDb });
    expect(JSON.parse(both.stdout).drifted).toBe(true);
  });

  it('uses the database active model when there is one, and never creates a database', () => {
    const db = join(dir, 'models.db');
    const model = join(dir, 'shifted-model.json');
    const trained = cli([
      'train',
      shifted,
      '--label-column',
      'label',
      '--out',
      model,
      '--register',
      '--activate',
      '--db',
      db,
    ]);
    expect(trained.code).toBe(0);
    // Against a model trained on the shifted traffic itself, that traffic is stable, and the sample is not.
    const active = cli(['drift', shifted, '--db', db, '--fail-on-drift']);
    expect(active.code).toBe(0);
    expect(JSON.parse(active.stdout).drifted).toBe(false);
    expect(active.stderr).toContain("(the database's active model)");
    expect(cli(['drift', fixture('labelled.csv'), '--db', db, '--fail-on-drift']).code).toBe(10);
    // --model wins over the database's active model.
    const bundledVsFile = cli(['drift', shifted, '--model', model, '-q', '--fail-on-drift'], { env: noDb });
    expect(bundledVsFile.code).toBe(0);
    const missing = join(dir, 'typo.db');
    expect(cli(['drift', fixture('labelled.csv'), '--db', missing]).code).toBe(0);
    expect(existsSync(missing)).toBe(false);
  });

  it('bad input: named file, line, field or flag; the right exit code; no stack', () => {
    const missing = cli(['drift', join(dir, 'nope.csv')], { env: noDb });
    expect(missing.code).toBe(4);
    expect(missing.stderr).toBe(`secureflow: input file not found: ${join(dir, 'nope.csv')}\n`);

    const bad = cli(['drift', fixture('bad-rows.csv'), '-q'], { env: noDb });
    expect(bad.code).toBe(3);
    expect(JSON.parse(bad.stdout).features).toHaveLength(5); // the figures of the rows that could be read
    expect(bad.stderr).toContain('fixtures/bad-rows.csv: line 3: amount must be a number, got "abc"');
    expect(bad.stderr).toContain('secureflow: 6 rows rejected; the figures leave them out');

    const header = join(dir, 'no-amount.csv');
    writeFileSync(header, 'hour,day_of_week,merchant_category\n3,1,2\n');
    const noColumn = cli(['drift', header], { env: noDb });
    expect(noColumn.code).toBe(3);
    expect(noColumn.stderr).toMatch(/no-amount\.csv: line 1: the header has no column for amount/);

    const empty = join(dir, 'header-only.csv');
    writeFileSync(empty, 'amount,hour,day_of_week,merchant_category,transaction_type\n');
    const none = cli(['drift', empty], { env: noDb });
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('no rows; nothing to compare');

    const format = cli(['drift', fixture('labelled.csv'), '--format', 'yaml'], { env: noDb });
    expect(format.code).toBe(2);
    expect(format.stderr).toContain("argument 'yaml' is invalid");
    expect(cli(['drift'], { env: noDb }).code).toBe(2);

    const notModel = cli(['drift', fixture('labelled.csv'), '--model', fixture('transaction.json')], { env: noDb });
    expect(notModel.code).toBe(5);
    expect(notModel.stderr).toMatch(/^secureflow: .*transaction\.json: not a secureflow model/);

    for (const r of [missing, bad, noColumn, none, format, notModel]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('is listed in --help with the exit code it gates on', () => {
    const help = cli(['--help']);
    expect(help.stdout).toMatch(/drift \[options\] <files\.\.\.>\s+compare traffic with the model's training/);
    expect(help.stdout).toContain('drift found, with --fail-on-drift');
  });
});
