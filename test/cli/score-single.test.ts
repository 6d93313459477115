import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PREDICT_FIELDS } from '../support/contract.js';
import { cli, fixture, EXAMPLE_FLAGS } from './run-cli.js';

describe('secureflow score: one transaction', () => {
  it('scores feature flags and prints every contract field as JSON', () => {
    const r = cli(['score', ...EXAMPLE_FLAGS, '--format', 'json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    for (const f of PREDICT_FIELDS) expect(out).toHaveProperty(f);
    expect(out.is_anomaly).toBe(true);
    expect(out.is_fraudulent).toBe(true);
    expect(out.risk_level).toBe('highest');
    expect(out.anomaly_score).toBeGreaterThan(0.5);
    expect(out.risk_score).toBeGreaterThan(95);
    expect(Object.keys(out.shap_explanation)).toEqual([
      'amount',
      'hour',
      'day_of_week',
      'merchant_category',
      'transaction_type',
    ]);
    const sum = Object.values(out.shap_explanation as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(sum).toBeGreaterThan(0);
    expect(out.risk_factors[0]).toMatchObject({
      feature: 'amount',
      description: expect.stringMatching(/^amount 4,800\.00 is higher than/),
    });
    expect(out.model_version).toMatch(/^[0-9a-f]{16}$/);
  });

  it('gives the same scores for the same input in separate processes', () => {
    const args = [
      'score',
      '--no-store',
      '--json',
      readFileSync(fixture('transaction.json'), 'utf8'),
      '--format',
      'json',
    ];
    const a = JSON.parse(cli(args).stdout);
    const b = JSON.parse(cli(args).stdout);
    delete a.timestamp;
    delete b.timestamp;
    expect(a).toEqual(b);
    expect(a.reference).toBe('order-77');
  });

  it('reads a legacy transaction from stdin, defaulting to JSON when piped', () => {
    const r = cli(['score'], { input: readFileSync(fixture('legacy-transaction.json'), 'utf8') });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.transaction).toMatchObject({ amount: 1250, hour: 3, day_of_week: 5, transaction_type: 1 });
  });

  it('scores a JSON array from stdin into an array of results', () => {
    const r = cli(['score', '--format', 'ndjson'], {
      input: JSON.stringify([
        { amount: 20, hour: 11, day_of_week: 2, merchant_category: 1, transaction_type: 0 },
        { amount: 4000, hour: 2, day_of_week: 6, merchant_category: 9, transaction_type: 2 },
      ]),
    });
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.is_anomaly)).toEqual([false, true]);
  });

  it('prints a human summary with every Shapley value in text format', () => {
    const r = cli(['score', ...EXAMPLE_FLAGS, '--format', 'text']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^FLAGGED/);
    for (const f of ['amount', 'hour', 'day_of_week', 'merchant_category', 'transaction_type'])
      expect(r.stdout).toContain(f);
    expect(r.stdout).not.toMatch(/\u001b\[/); // NO_COLOR
  });

  it('names the field of a bad transaction, exits 3, and shows no stack trace', () => {
    const r = cli(['score', '--amount', 'ten', '--hour', '3', '--day-of-week', '6', '--merchant-category', '9']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('secureflow: amount must be a number, got "ten"\n');
    const h = cli(['score', '--json', '{"amount": 5, "hour": 30, "day_of_week": 1, "merchant_category": 1}']);
    expect(h.code).toBe(3);
    expect(h.stderr).toContain('hour must be in 0..23, got 30');
    const bad = cli(['score'], { input: '{not json' });
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/^secureflow: stdin is not valid JSON/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 for usage errors and 10 for --fail-on-anomaly', () => {
    expect(cli(['score', '--bogus']).code).toBe(2);
    expect(cli(['score', '--threshold', 'abc', '--amount', '1']).code).toBe(2);
    expect(cli(['score', '--amount', '1', '--format', 'csv']).code).toBe(2);
    expect(cli(['frobnicate']).code).toBe(2);
    const flagged = cli(['score', ...EXAMPLE_FLAGS, '--fail-on-anomaly']);
    expect(flagged.code).toBe(10);
    expect(flagged.stderr).toContain('1 transaction flagged');
    expect(
      cli([
        'score',
        '--amount',
        '20',
        '--hour',
        '11',
        '--day-of-week',
        '2',
        '--merchant-category',
        '1',
        '--fail-on-anomaly',
      ]).code,
    ).toBe(0);
  });

  it('uses another model with --model and fails clearly on a missing or invalid one', () => {
    expect(cli(['score', '--amount', '1', '--model', 'nope.json']).code).toBe(4);
    const bad = cli([
      'score',
      '--amount',
      '1',
      '--hour',
      '1',
      '--day-of-week',
      '1',
      '--merchant-category',
      '1',
      '--model',
      fixture('transaction.json'),
    ]);
    expect(bad.code).toBe(5);
    expect(bad.stderr).toContain('not a secureflow model');
  });

  it('documents exit codes in --help and prints the version', () => {
    const help = cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
    expect(help.stdout).toMatch(/10\s+anomalies found/);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(cli(['--version']).stdout.trim()).toBe(pkg.version);
  });
});
