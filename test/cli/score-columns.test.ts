/** Output columns through the built CLI: input columns never collide with results; several files make one stream. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, csvTable } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'secureflow-columns-'));
const write = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
// A payment export's habits: its own transaction_id, and a column named like one of ours.
const EXPORT = write(
  'export.csv',
  'transaction_id,amount,hour,day_of_week,merchant_category,transaction_type,error,Line\nT-1,5,3,1,2,0,none,a\nT-2,99999,3,6,9,2,none,b\n',
);
const OTHER = write(
  'other.csv',
  'amount,hour,day_of_week,merchant_category,transaction_type,note\n20,12,2,1,0,"hi, there"\nabc,1,1,1,1,bad\n',
);

describe('no collisions between input columns and results', () => {
  it('CSV: clashing input columns are carried as input_<name>, once each, whether or not results are stored', () => {
    const db = join(dir, 'c.db');
    for (const args of [['--db', db], ['--no-store']]) {
      const r = cli(['score', EXPORT, '-q', ...args]);
      expect(r.code, r.stderr).toBe(0);
      const [header] = r.stdout.split('\n');
      const names = header.split(',');
      expect(names.slice(0, 8)).toEqual([
        'input_transaction_id',
        'amount',
        'hour',
        'day_of_week',
        'merchant_category',
        'transaction_type',
        'input_error',
        'input_Line',
      ]);
      expect(new Set(names).size).toBe(names.length);
      const rows = csvTable(r.stdout);
      expect(rows.map((x) => x.input_transaction_id)).toEqual(['T-1', 'T-2']);
      expect(rows.map((x) => x.error)).toEqual(['', '']);
      expect(rows.map((x) => x.line)).toEqual(['2', '3']);
      if (args[0] === '--db') expect(rows.map((x) => x.transaction_id)).toEqual(['1', '2']);
    }
  });

  it("JSON and NDJSON: the user's transaction_id stays findable and a good row has no error key", () => {
    const db = join(dir, 'j.db');
    const rows = cli(['score', EXPORT, '-q', '-f', 'ndjson', '--db', db])
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((x) => [x.input_transaction_id, x.transaction_id, x.input_error, 'error' in x])).toEqual([
      ['T-1', 1, 'none', false],
      ['T-2', 2, 'none', false],
    ]);
    expect(rows[0].model_version).toMatch(/^[0-9a-f]{16}$/);
    // Stored with the caller's reference, so `transactions show` finds the export's id.
    expect(JSON.parse(cli(['transactions', 'show', '2', '--db', db, '-f', 'json']).stdout).reference).toBe('T-2');
  });
});

describe('several files, one stream', () => {
  it('CSV: one header (the union of columns), a file column, line numbers per file', () => {
    const r = cli(['score', EXPORT, OTHER, '--no-store', '-q']);
    expect(r.code).toBe(3); // other.csv has a bad row
    const lines = r.stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('input_transaction_id,'))).toHaveLength(1);
    const rows = csvTable(r.stdout);
    expect(rows.map((x) => [x.file, x.line, x.input_transaction_id, x.note])).toEqual([
      [EXPORT, '2', 'T-1', ''],
      [EXPORT, '3', 'T-2', ''],
      [OTHER, '2', '', 'hi, there'],
      [OTHER, '3', '', 'bad'],
    ]);
    expect(rows[3].error).toBe('amount must be a number, got "abc"');
    expect(Object.keys(rows[0]).slice(0, 10)).toEqual([
      'input_transaction_id',
      'amount',
      'hour',
      'day_of_week',
      'merchant_category',
      'transaction_type',
      'input_error',
      'input_Line',
      'note',
      'file',
    ]);
  });

  it('NDJSON: a file field on every row, null where a file has no such column; stdin reads as "stdin"', () => {
    const rows = cli(['score', '-', OTHER, '--no-store', '-q', '-f', 'ndjson'], {
      input: 'amount,hour,day_of_week,merchant_category,transaction_type\n7,1,1,1,1\n',
    })
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((x) => [x.file, x.line, x.note])).toEqual([
      ['stdin', 2, null],
      [OTHER, 2, 'hi, there'],
      [OTHER, 3, 'bad'],
    ]);
  });

  it('files with the same columns pass through unchanged, with their file', () => {
    const copy = write(
      'copy.csv',
      'amount,hour,day_of_week,merchant_category,transaction_type,note\n20,12,2,1,0,"hi, there"\n',
    );
    const rows = csvTable(cli(['score', OTHER, copy, '--no-store', '-q']).stdout);
    expect(rows.map((x) => [x.file, x.line, x.note])).toEqual([
      [OTHER, '2', 'hi, there'],
      [OTHER, '3', 'bad'],
      [copy, '2', 'hi, there'],
    ]);
  });
});
