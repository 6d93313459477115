/**
 * Real exports in, through the built CLI: other delimiters (given or seen in the header), other column names,
 * amounts with separators and currencies, decimal commas, other encodings, and values that would be derived
 * silently. Each fixture holds the same ten transactions as fixtures/transactions.csv, so each must score the same.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, csvTable, fixture, writeRepeatedFixture } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'secureflow-exports-'));
const write = (name: string, text: string | Buffer) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const scores = (stdout: string) => csvTable(stdout).map((r) => r.anomaly_score);
const REFERENCE = scores(cli(['score', fixture('transactions.csv'), '--no-store', '-q']).stdout);
const EU_COLUMNS = [
  '--column',
  'amount=Betrag',
  '--column',
  'merchant_category=händler kategorie',
  '--column',
  'transaction_type=TYP',
  '--column',
  'hour=Stunde',
  '--column',
  'day_of_week=Wochentag',
];
const TAB_COLUMNS = [
  '--column',
  'amount=amt',
  '--column',
  'merchant_category=Merchant Cat',
  '--column',
  'transaction_type=txn_type',
  '--column',
  'id=Txn Ref',
];

describe('delimiters', () => {
  it('reads a semicolon export with decimal commas and its own column names, detected from the header', () => {
    expect(REFERENCE).toHaveLength(10);
    const r = cli(['score', fixture('export-semicolon-eu.csv'), '--no-store', '-q', '--decimal', ',', ...EU_COLUMNS]);
    expect(r.code, r.stderr).toBe(0);
    expect(scores(r.stdout)).toEqual(REFERENCE);
    // Output stays comma CSV, with the export's own columns carried under their own names.
    expect(r.stdout.split('\n')[0]).toMatch(/^Betrag,Händler Kategorie,Typ,Stunde,Wochentag,line,anomaly_score,/);
    expect(csvTable(r.stdout)[1].Betrag).toBe('1.250,00 €');
  });

  it('reads a tab export (detected, or given as --delimiter tab) and the same file with | given', () => {
    for (const extra of [[], ['--delimiter', 'tab']]) {
      const r = cli(['score', fixture('export-tab.tsv'), '--no-store', '-q', ...TAB_COLUMNS, ...extra]);
      expect(r.code, r.stderr).toBe(0);
      expect(scores(r.stdout)).toEqual(REFERENCE);
    }
    const pipe = write('pipe.csv', `amount|hour|day_of_week|merchant_category|transaction_type\n50.25|14|2|1|0\n`);
    for (const extra of [[], ['--delimiter', '|']]) {
      const r = cli(['score', pipe, '--no-store', '-q', ...extra]);
      expect(r.code, r.stderr).toBe(0);
      expect(scores(r.stdout)).toEqual([REFERENCE[0]]);
    }
    // Not given and not detectable: the header error says how to give it.
    const colon = write('colon.csv', `amount:hour:day_of_week:merchant_category:transaction_type\n50.25:14:2:1:0\n`);
    const noFlag = cli(['score', colon, '--no-store', '-q']);
    expect(noFlag.code).toBe(3);
    expect(noFlag.stderr).toContain('pass --delimiter');
    // A given delimiter is used as given: a semicolon file read with commas is a header error, not a guess.
    expect(cli(['score', fixture('export-semicolon-eu.csv'), '--no-store', '-q', '--delimiter', ',']).code).toBe(3);
  });

  it('refuses a delimiter it does not know, naming the flag (exit 2)', () => {
    const r = cli(['score', fixture('transactions.csv'), '--no-store', '--delimiter', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--delimiter must be one of , ; | tab');
  });

  it('several files with different delimiters make one comma stream', () => {
    const tab = write(
      'canonical.tsv',
      'amount\thour\tday_of_week\tmerchant_category\ttransaction_type\tnote\n50.25\t14\t2\t1\t0\t"a, b"\n',
    );
    const r = cli(['score', fixture('transactions.csv'), tab, '--no-store', '-q']);
    expect(r.code, r.stderr).toBe(0);
    const rows = csvTable(r.stdout);
    expect(rows.map((x) => x.anomaly_score)).toEqual([...REFERENCE, REFERENCE[0]]);
    expect([rows[10].amount, rows[10].note, rows[10].file]).toEqual(['50.25', 'a, b', tab]);
  });
});

describe('column mappings', () => {
  it('a mapped column that is missing is a header error naming both names (exit 3)', () => {
    const r = cli([
      'score',
      fixture('export-tab.tsv'),
      '--no-store',
      '-q',
      '--column',
      'amount=total',
      '--column',
      'merchant_category=Merchant Cat',
      '--column',
      'transaction_type=txn_type',
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('--column amount=total: the header has no column "total" to read amount from');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('the mapping alone says where a field comes from, even when a column has our name', () => {
    const f = write(
      'both.csv',
      'amount,amt,hour,day_of_week,merchant_category,transaction_type\n999999,50.25,14,2,1,0\n',
    );
    const r = cli(['score', f, '--no-store', '-q', '--column', 'amount=amt']);
    expect(r.code, r.stderr).toBe(0);
    expect(scores(r.stdout)).toEqual([REFERENCE[0]]);
  });

  it('refuses a field secureflow does not read, or a mapping without =, naming the flag (exit 2)', () => {
    for (const bad of ['amout=amt', 'amount']) {
      const r = cli(['score', fixture('transactions.csv'), '--no-store', '--column', bad]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--column');
    }
  });

  it("a mapped reference column is stored as the caller's reference", () => {
    const db = join(dir, 'ref.db');
    const r = cli(['score', fixture('export-tab.tsv'), '-q', '--db', db, ...TAB_COLUMNS]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(cli(['transactions', 'show', '3', '--db', db, '-f', 'json']).stdout).reference).toBe('R-3');
  });
});

describe('amounts as exports write them', () => {
  const HEAD = 'amount,hour,day_of_week,merchant_category,transaction_type\n';
  const rowsOf = (cells: string[], extra: string[] = []) => {
    const f = write(
      `amounts-${Math.random().toString(36).slice(2)}.csv`,
      HEAD + cells.map((c) => `${c},14,2,1,0\n`).join(''),
    );
    return csvTable(cli(['score', f, '--no-store', '-q', '-f', 'csv', ...extra]).stdout);
  };
  const scoreOf = (amount: number) => rowsOf([String(amount)])[0].anomaly_score;

  it('reads thousands separators and currency symbols or codes as the number they say', () => {
    const rows = rowsOf(['"1,250.00"', '$1250', '€1250', '1250 EUR', '"USD 1,250"', '"£1,250.00"', '1250']);
    expect(rows.map((r) => r.error)).toEqual(['', '', '', '', '', '', '']);
    expect(new Set(rows.map((r) => r.anomaly_score))).toEqual(new Set([scoreOf(1250)]));
  });

  it('refuses anything ambiguous or negative as a row error naming the field', () => {
    const rows = rowsOf(['(12.50)', '-$5', '"12,50"', '"1,25,0"', '$12 EUR', '"1.250,00"']);
    expect(rows.map((r) => r.error)).toEqual([
      'amount must be >= 0 (parentheses mark a negative amount), got "(12.50)"',
      'amount must be >= 0, got "-$5"',
      'amount must use a decimal point (pass --decimal , for decimal commas), got "12,50"',
      'amount must be a number with thousands grouped by three (e.g. 1,250.00), got "1,25,0"',
      'amount must be a number, optionally with one currency symbol or code (e.g. 1,250.00, $4800, 12.50 EUR), got "$12 EUR"',
      'amount must use a decimal point (pass --decimal , for decimal commas), got "1.250,00"',
    ]);
  });

  it('--decimal , reads 1.250,00 and refuses a decimal point', () => {
    const rows = rowsOf(['"1.250,00"', '"1250,00"', '1.250', '12.50'], ['--decimal', ',']);
    expect(rows.slice(0, 3).map((r) => [r.error, r.anomaly_score])).toEqual(Array(3).fill(['', scoreOf(1250)]));
    expect(rows[3].error).toContain('amount must be a number with a decimal comma');
  });

  it('a plain unquoted comma file still reads as before (the fast path)', () => {
    expect(scores(cli(['score', fixture('transactions.csv'), '--no-store', '-q', '--workers', '2']).stdout)).toEqual(
      REFERENCE,
    );
  });
});

describe('encodings', () => {
  it('a Windows-1252 file is refused by default, naming the line and the flag, and read with --encoding latin1', () => {
    const refused = cli(['score', fixture('export-cp1252.csv'), '--no-store', '-q', '--delimiter', '|']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('export-cp1252.csv: line 2: not valid UTF-8 (byte 0xE9)');
    expect(refused.stderr).toContain('--encoding latin1');
    expect(refused.stdout).not.toContain('\ufffd');
    const r = cli(['score', fixture('export-cp1252.csv'), '--no-store', '-q', '--encoding', 'latin1']);
    expect(r.code, r.stderr).toBe(0);
    const rows = csvTable(r.stdout);
    expect(rows.map((x) => x.anomaly_score)).toEqual(REFERENCE);
    expect(rows.map((x) => x.merchant_name).slice(0, 4)).toEqual([
      'Café Zürich',
      'Bäckerei Müller',
      'Señor Taco',
      'Crêperie €',
    ]);
    expect(rows[1].amount).toBe('€1250.00'); // byte 0x80 is the euro sign in Windows-1252
  });

  it('a UTF-16 file with a byte order mark is read without a flag', () => {
    const r = cli(['score', fixture('export-utf16.csv'), '--no-store', '-q']);
    expect(r.code, r.stderr).toBe(0);
    expect(scores(r.stdout)).toEqual(REFERENCE);
  });

  it('refuses an encoding it does not know (exit 2)', () => {
    const r = cli(['score', fixture('transactions.csv'), '--no-store', '--encoding', 'klingon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--encoding "klingon"');
  });
});

describe('derived values', () => {
  it('by default, date-only timestamps and unknown type names are row errors naming the field and the flag', () => {
    const r = cli(['score', fixture('export-derived.csv'), '--no-store', '-q']);
    expect(r.code).toBe(3);
    const rows = csvTable(r.stdout);
    expect(rows.map((x) => x.error)).toEqual([
      '',
      'timestamp "2024-03-04" has no time of day: its hour reads as 0; pass --derived warn to score such rows with a warning',
      'type "refund" is not purchase, withdrawal or transfer: it hashes to purchase; pass --derived warn to score such rows with a warning',
      '', // "Transfer" is a name we know, whatever its case
    ]);
  });

  it('--derived warn scores them with a warning column (CSV) or field (NDJSON)', () => {
    const csv = cli(['score', fixture('export-derived.csv'), '--no-store', '--derived', 'warn']);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stderr).toContain('2 rows scored with a derived value (see the warning column)');
    const rows = csvTable(csv.stdout);
    expect(rows.map((x) => [x.error, x.warning])).toEqual([
      ['', ''],
      ['', 'timestamp "2024-03-04" has no time of day: its hour reads as 0'],
      ['', 'type "refund" is not purchase, withdrawal or transfer: it hashes to purchase'],
      ['', ''],
    ]);
    expect(rows.every((x) => x.anomaly_score !== '')).toBe(true);
    const nd = cli(['score', fixture('export-derived.csv'), '--no-store', '-q', '--derived', 'warn', '-f', 'ndjson'])
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(nd.map((x) => x.warning ?? null)).toEqual([null, rows[1].warning, rows[2].warning, null]);
  });

  it('refuses a rule it does not know, and export flags where they cannot apply (exit 2)', () => {
    expect(cli(['score', fixture('export-derived.csv'), '--no-store', '--derived', 'accept']).code).toBe(2);
    const single = cli([
      'score',
      '--amount',
      '5',
      '--hour',
      '1',
      '--day-of-week',
      '1',
      '--merchant-category',
      '1',
      '--no-store',
      '--delimiter',
      ';',
    ]);
    expect([single.code, single.stderr]).toEqual([2, 'secureflow: --delimiter is for CSV files\n']);
    const remote = cli(['score', fixture('transactions.csv'), '--remote', 'http://127.0.0.1:9', '--decimal', ',']);
    expect(remote.code).toBe(2);
    expect(remote.stderr).toContain('--decimal does not apply with --remote');
  });
});

describe('large exports', () => {
  it('a semicolon, decimal-comma file and a UTF-16 file of many chunks, on worker threads, score like the comma file', () => {
    const comma = join(dir, 'big.csv');
    writeRepeatedFixture('transactions.csv', 12000, comma); // 120,000 rows, about 3 MB: several 1 MiB chunks
    const text = readFileSync(comma, 'utf8');
    const semi = write('big-eu.csv', text.replace(/,/g, ';').replace(/(\d)\.(\d\d)(?=;)/g, '$1,$2'));
    // Decoded as it streams: the output (input columns included) must be byte for byte the comma file's.
    const utf16 = write('big-utf16.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    const expected = cli(['score', comma, '--no-store', '-q', '-f', 'csv', '--workers', '2']).stdout;
    const results = (t: string) =>
      t
        .split('\n')
        .map((l) => l.split(',').slice(-6).join(','))
        .join('\n');
    const eu = cli(['score', semi, '--no-store', '-q', '-f', 'csv', '--workers', '2', '--decimal', ',']);
    expect(eu.code, eu.stderr).toBe(0);
    expect(results(eu.stdout)).toBe(results(expected));
    const u = cli(['score', utf16, '--no-store', '-q', '-f', 'csv', '--workers', '2']);
    expect(u.code, u.stderr).toBe(0);
    expect(u.stdout).toBe(expected);
  });
});
