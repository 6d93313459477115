import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRandom, generateTransactions } from '../../src/model/index.js';
import { cli, csvTable, fixture } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'secureflow-test-'));

describe('secureflow score: CSV files', () => {
  it('writes CSV when piped: input columns carried through, one row per input row, summary on stderr', () => {
    const r = cli(['score', '--no-store', fixture('transactions.csv')]);
    expect(r.code).toBe(0);
    const rows = csvTable(r.stdout);
    expect(rows).toHaveLength(10);
    expect(Object.keys(rows[0])).toEqual([
      'amount',
      'merchant_category',
      'transaction_type',
      'hour',
      'day_of_week',
      'line',
      'anomaly_score',
      'risk_score',
      'risk_level',
      'is_anomaly',
      'confidence',
      'decision',
      'matched_rules',
      'rule_errors',
      'error',
    ]);
    expect(rows.map((x) => x.line)).toEqual(['2', '3', '4', '5', '6', '7', '8', '9', '10', '11']);
    expect(rows[0].amount).toBe('50.25');
    expect(rows.filter((x) => x.is_anomaly === 'true').map((x) => x.amount)).toEqual([
      '1250.00',
      '3500.50',
      '2100.75',
      '5000.00',
    ]);
    // No rules in reach: the model's flag decides (review what it flags).
    expect(rows.map((x) => x.decision)).toEqual(rows.map((x) => (x.is_anomaly === 'true' ? 'review' : 'allow')));
    expect(r.stderr).toMatch(
      /^10 rows in [\d.]+ s: 10 scored, 4 flagged \(40\.00%\), 0 errors\ndecisions: 6 allow, 4 review, 0 block\n$/,
    );
  });

  it('writes json (one array, input order), ndjson and table', () => {
    const json = JSON.parse(cli(['score', '--no-store', fixture('transactions.csv'), '-f', 'json', '-q']).stdout);
    expect(json).toHaveLength(10);
    expect(json.map((x: { line: number }) => x.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(json[1]).toMatchObject({ amount: '1250.00', is_anomaly: true, risk_level: 'highest' });
    expect(typeof json[1].anomaly_score).toBe('number');
    const nd = cli(['score', '--no-store', fixture('transactions.csv'), '-f', 'ndjson', '-q'])
      .stdout.trim()
      .split('\n');
    expect(nd.map((l) => JSON.parse(l))).toEqual(json);
    const table = cli(['score', '--no-store', fixture('transactions.csv'), '-f', 'table', '-q']).stdout.split('\n');
    expect(table[0]).toMatch(/line\s+amount/);
    expect(table[2]).toMatch(/^\s+3 1250\.00.*highest\s+YES\s+review$/);
  });

  it('reads CSV from stdin with -', () => {
    const csv = readFileSync(fixture('transactions.csv'), 'utf8');
    const viaStdin = cli(['score', '--no-store', '-', '-q'], { input: csv });
    expect(viaStdin.code).toBe(0);
    expect(viaStdin.stdout).toBe(cli(['score', '--no-store', fixture('transactions.csv'), '-q']).stdout);
  });

  it('reports bad rows with their line and field, keeps the good ones, and exits 3', () => {
    const r = cli(['score', '--no-store', fixture('bad-rows.csv')]);
    expect(r.code).toBe(3);
    const rows = csvTable(r.stdout);
    expect(rows).toHaveLength(8);
    expect(rows.map((x) => [x.line, x.error !== ''])).toEqual([
      ['2', false],
      ['3', true],
      ['4', true],
      ['5', true],
      ['6', true],
      ['7', false],
      ['8', true],
      ['9', true],
    ]);
    expect(rows[1].error).toContain('amount must be a number');
    expect(rows[2].error).toContain('hour must be in 0..23, got 25');
    expect(rows[4].error).toContain('row has 4 fields, the header has 5');
    expect(rows[5].is_anomaly).toBe('true');
    expect(r.stderr).toContain('8 rows');
    expect(r.stderr).toContain('6 errors');
    expect(r.stderr).toContain('bad-rows.csv: line 3: amount must be a number, got "abc"');
  });

  it('--strict stops at the first bad row with exit 3, after writing the rows before it', () => {
    const r = cli(['score', '--no-store', fixture('bad-rows.csv'), '--strict', '-q']);
    expect(r.code).toBe(3);
    expect(csvTable(r.stdout).map((x) => x.line)).toEqual(['2']);
    expect(r.stderr).toContain('line 3: amount must be a number, got "abc" (stopped by --strict)');
  });

  it('handles legacy columns, quoted cells and several files in one run', () => {
    const r = cli(['score', '--no-store', fixture('legacy.csv'), fixture('quoted.csv'), '-f', 'ndjson']);
    expect(r.code).toBe(0);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(7);
    expect(rows[0]).toMatchObject({ id: 'tx-1001', line: 2 });
    expect(rows[5]).toMatchObject({ note: 'multi\nline note', line: 3, is_anomaly: true });
    expect(rows[6]).toMatchObject({ note: 'plain', line: 5 });
    expect(r.stderr).toContain('7 rows');
  });

  it('refuses a file with no usable header, a missing file, and an empty file', () => {
    writeFileSync(join(dir, 'nohead.csv'), 'a,b\n1,2\n');
    const nohead = cli(['score', '--no-store', join(dir, 'nohead.csv')]);
    expect(nohead.code).toBe(3);
    expect(nohead.stderr).toContain('line 1: the header has no column for amount');
    expect(cli(['score', '--no-store', join(dir, 'missing.csv')]).code).toBe(4);
    writeFileSync(join(dir, 'empty.csv'), '');
    expect(cli(['score', '--no-store', join(dir, 'empty.csv')]).stderr).toContain('the file is empty');
  });

  it('gates CI pipelines with --fail-on-anomaly and --max-anomaly-rate', () => {
    expect(cli(['score', '--no-store', fixture('transactions.csv'), '--fail-on-anomaly', '-q']).code).toBe(10);
    expect(cli(['score', '--no-store', fixture('transactions.csv'), '--max-anomaly-rate', '0.5', '-q']).code).toBe(0);
    const over = cli(['score', '--no-store', fixture('transactions.csv'), '--max-anomaly-rate', '30%', '-q']);
    expect(over.code).toBe(10);
    expect(over.stderr).toContain('anomaly rate 40.00% exceeds --max-anomaly-rate 30.00%');
    expect(cli(['score', '--no-store', fixture('transactions.csv'), '--max-anomaly-rate', '2']).code).toBe(2);
  });

  it('adds exact Shapley values and the top factor with --explain', () => {
    const rows = JSON.parse(
      cli(['score', '--no-store', fixture('transactions.csv'), '--explain', '-f', 'json', '-q']).stdout,
    );
    expect(Object.keys(rows[0].shap_explanation)).toHaveLength(5);
    expect(rows[9].top_factor).toBe('amount');
    const csv = csvTable(cli(['score', '--no-store', fixture('transactions.csv'), '--explain', '-q']).stdout);
    expect(csv[9]).toHaveProperty('shap_amount');
    expect(Number(csv[9].shap_amount)).toBeCloseTo(rows[9].shap_explanation.amount, 5);
  });

  it('writes to a file with -o', () => {
    const out = join(dir, 'out.csv');
    expect(cli(['score', '--no-store', fixture('transactions.csv'), '-o', out, '-q']).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(cli(['score', '--no-store', fixture('transactions.csv'), '-q']).stdout);
  });

  describe('a multi-chunk file', () => {
    const big = join(dir, 'big.csv');
    beforeAll(() => {
      const d = generateTransactions(120_000, 0.05, createRandom(8));
      const lines = ['amount,hour,day_of_week,merchant_category,transaction_type'];
      for (let i = 0; i < d.rows; i++) lines.push(Array.from(d.raw.subarray(i * 5, i * 5 + 5)).join(','));
      lines.splice(50_001, 0, '12,99,1,1,1'); // one bad row deep in the file
      writeFileSync(big, `${lines.join('\n')}\n`);
    });

    it('gives byte-identical output whatever the number of workers, in input order', () => {
      const one = cli(['score', '--no-store', big, '--workers', '1', '-q']);
      const two = cli(['score', '--no-store', big, '--workers', '2', '-q']);
      const three = cli(['score', '--no-store', big, '--workers', '3', '-q']);
      expect(one.code).toBe(3);
      expect(two.stdout).toBe(one.stdout);
      expect(three.stdout).toBe(one.stdout);
      const rows = csvTable(one.stdout);
      expect(rows).toHaveLength(120_001);
      expect(rows[50_000]).toMatchObject({ line: '50002', error: 'hour must be in 0..23, got 99' });
      expect(rows[120_000].line).toBe('120002');
    });

    it('explains with the WebAssembly kernel exactly as with the JavaScript one (SECUREFLOW_SHAP_KERNEL=js)', () => {
      const args = ['score', '--no-store', big, '--explain', '-f', 'ndjson', '-q'];
      const wasm = cli(args);
      const js = cli(args, { env: { SECUREFLOW_SHAP_KERNEL: 'js' } });
      expect(wasm.code).toBe(3);
      expect(wasm.stdout.split('\n')).toHaveLength(120_002);
      expect(wasm.stdout).toContain('"shap_explanation":{"amount":');
      expect(js.stdout === wasm.stdout).toBe(true); // not toBe: a 60 MB diff is no help
    });
  });

  it('writes the same CSV rows whether records are copied as bytes (comma, ASCII) or rebuilt as text (semicolons)', () => {
    const d = generateTransactions(3000, 0.02, createRandom(11));
    // Cells as written in the file: some quoted (quoting that is needed, and quoting that is not).
    const rows: string[][] = [];
    for (let i = 0; i < d.rows; i++) {
      const cells = Array.from(d.raw.subarray(i * 5, i * 5 + 5), String);
      if (i % 7 === 0) cells[0] = `"${cells[0]}"`;
      cells.push(i % 11 === 0 ? '"ref ""a"", b"' : i % 13 === 0 ? '"r,1"' : `r${i}`);
      rows.push(cells);
    }
    rows.splice(700, 0, ['12', '99', '1', '1', '1', 'bad']); // a bad row: written as text in both
    const header = ['amount', 'hour', 'day_of_week', 'merchant_category', 'transaction_type', 'reference'];
    const write = (name: string, sep: string) => {
      const path = join(dir, name);
      writeFileSync(path, `${[header, ...rows].map((r) => r.join(sep)).join('\n')}\n`);
      return path;
    };
    const comma = write('bytes-comma.csv', ',');
    const semi = write('bytes-semi.csv', ';');
    const run = (file: string, tag: string) => {
      const db = join(dir, `bytes-${tag}.db`);
      expect(cli(['rules', 'add', 'big', '--db', db, '--when', 'amount > 2000', '--action', 'block']).code).toBe(0);
      return cli(['score', file, fixture('transactions.csv'), '--explain', '--db', db, '-q']);
    };
    const fast = run(comma, 'comma');
    const text = run(semi, 'semi');
    expect(fast.code).toBe(3);
    expect(fast.stdout.replaceAll('bytes-comma.csv', 'bytes-semi.csv')).toBe(text.stdout);
    const out = csvTable(fast.stdout);
    expect(out).toHaveLength(rows.length + 10);
    expect(out.some((r) => r.matched_rules === 'big') && out.some((r) => r.matched_rules === '')).toBe(true);
    expect(out[0]).toMatchObject({ transaction_id: '1', file: comma, line: '2', reference: 'ref "a", b' });
    expect(out[13].reference).toBe('r,1');
    expect(out[700].error).toBe('hour must be in 0..23, got 99');
  });
});
