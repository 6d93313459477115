/**
 * secureflow rules, through the built CLI: the management round trip with its history, refusals of bad
 * expressions (nothing stored), and backtests whose counts are computed here independently.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cli, fixture } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'secureflow-rules-'));
let n = 0;
const freshDb = () => join(dir, `db-${++n}.sqlite`);
const me = userInfo().username;

/** The fixture's rows as objects of numbers (a plain CSV: no quotes). */
function csvRows(name: string): Record<string, string>[] {
  const [header, ...lines] = readFileSync(fixture(name), 'utf8').trim().split('\n');
  const names = header.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [names[i], v])));
}

const json = (args: string[]) => {
  const r = cli([...args, '--format', 'json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
};

describe('secureflow rules: management', () => {
  it.each([['rules'], ['rules', 'add'], ['rules', 'test'], ['rules', 'show']])(
    '%s --help says what it does',
    (...args) => {
      const help = cli([...args, '--help']).stdout.split('\n');
      expect(help[0]).toMatch(/^Usage: secureflow rules/);
      expect(help[1]).toBe('');
      expect(help[2]).toMatch(/^[A-Z][a-z]+ .+/);
    },
  );

  it('adds, lists, shows, disables, enables and removes, keeping every change with who and when', () => {
    const db = freshDb();
    expect(cli(['rules', 'list', '--db', db]).code).toBe(4); // read-only: never creates a database
    expect(existsSync(db)).toBe(false);

    const added = cli([
      'rules',
      'add',
      'night-cash',
      '--when',
      'amount > 3000 && hour < 5',
      '--action',
      'block',
      '--description',
      'big amounts at night',
      '--db',
      db,
    ]);
    expect(added).toMatchObject({ code: 0, stderr: '' });
    expect(added.stdout).toBe('rule night-cash added (block, enabled): amount > 3000 && hour < 5\n');
    json(['rules', 'add', 'vip', '--when', 'amount < 10', '--action', 'allow', '--db', db]);

    const list = json(['rules', 'list', '--db', db]);
    expect(list.map((r: { name: string }) => r.name)).toEqual(['night-cash', 'vip']);
    expect(list[0]).toMatchObject({
      name: 'night-cash',
      expression: 'amount > 3000 && hour < 5',
      action: 'block',
      description: 'big amounts at night',
      enabled: true,
      created_by: me,
    });
    // Piped without --format: JSON too; a table with --format table.
    expect(JSON.parse(cli(['rules', 'list', '--db', db]).stdout)).toEqual(list);
    const table = cli(['rules', 'list', '--db', db, '--format', 'table']);
    expect(table.stdout.split('\n')[0]).toMatch(/^name\s+action\s+enabled\s+expression\s+description\s+updated_at$/);
    expect(table.stdout).toMatch(/night-cash\s+block\s+true\s+amount > 3000 && hour < 5\s+big amounts at night/);

    expect(cli(['rules', 'disable', 'night-cash', '--db', db]).stdout).toBe('rule night-cash disabled\n');
    expect(json(['rules', 'list', '--db', db])[0].enabled).toBe(false);
    expect(cli(['rules', 'enable', 'night-cash', '--db', db]).stdout).toBe('rule night-cash enabled\n');
    expect(cli(['rules', 'enable', 'nope', '--db', db])).toMatchObject({ code: 4 });

    const removed = cli(['rules', 'remove', 'night-cash', '--db', db]);
    expect(removed.code).toBe(0);
    expect(cli(['rules', 'remove', 'night-cash', '--db', db]).code).toBe(4);

    const shown = json(['rules', 'show', 'night-cash', '--db', db]);
    expect(shown.rule).toBeNull();
    expect(shown.history.map((h: { change: string; changed_by: string }) => [h.change, h.changed_by])).toEqual([
      ['added', me],
      ['disabled', me],
      ['enabled', me],
      ['removed', me],
    ]);
    const times = shown.history.map((h: { changed_at: string }) => h.changed_at);
    expect(times).toEqual([...times].sort());
    const text = cli(['rules', 'show', 'vip', '--db', db, '--format', 'text']);
    expect(text.stdout).toMatch(/^rule vip\n {2}when {9}amount < 10\n {2}action {7}allow\n/);
    expect(text.stdout).toMatch(/history\nchanged_at\s+change\s+changed_by/);
    expect(cli(['rules', 'show', 'never', '--db', db]).code).toBe(4);

    const raw = new Database(db, { readonly: true });
    expect(raw.prepare('SELECT count(*) FROM risk_rule_history').pluck().get()).toBe(5);
    raw.close();
  });

  it('refuses a bad expression with its position and reason (exit 3) and stores nothing', () => {
    const db = freshDb();
    const cases: [string, RegExp][] = [
      ['amount > 3000 &&', /^secureflow: expression: line 1, column \d+: syntax error: /],
      [
        'hour < 5 && amont > 3000',
        /^secureflow: expression: line 1, column 13: unknown variable amont \(did you mean amount\?\)/,
      ],
      [
        'amount + 1',
        /^secureflow: expression: line 1, column 8: a rule must be true or false, but this expression is a double/,
      ],
      ['merchant > 3', /cannot compare a string with an int/],
    ];
    for (const [expr, message] of cases) {
      const r = cli(['rules', 'add', 'bad', '--when', expr, '--action', 'block', '--db', db]);
      expect(r.code, expr).toBe(3);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(db)).toBe(false); // refused before the database was opened
    expect(cli(['rules', 'add', 'ok', '--when', 'true', '--action', 'deny', '--db', db]).code).toBe(2);
    expect(cli(['rules', 'add', 'bad name', '--when', 'true', '--action', 'block', '--db', db]).code).toBe(3);
    expect(existsSync(db)).toBe(false);
    json(['rules', 'add', 'ok', '--when', 'true', '--action', 'review', '--db', db]);
    const again = cli(['rules', 'add', 'ok', '--when', 'false', '--action', 'block', '--db', db]);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/a rule named ok already exists/);
    expect(json(['rules', 'list', '--db', db]).map((r: { expression: string }) => r.expression)).toEqual(['true']);
  });
});

describe('secureflow rules test', () => {
  it('counts the rows of a file that amount > 3000 && hour < 5 matches', () => {
    const db = freshDb();
    json(['rules', 'add', 'night-cash', '--when', 'amount > 3000 && hour < 5', '--action', 'block', '--db', db]);
    const expected = csvRows('transactions.csv').filter((r) => Number(r.amount) > 3000 && Number(r.hour) < 5).length;
    expect(expected).toBeGreaterThan(0);
    const r = json(['rules', 'test', 'night-cash', fixture('transactions.csv'), '--db', db]);
    expect(r).toMatchObject({
      rule: { name: 'night-cash', action: 'block', enabled: true },
      rows: 10,
      evaluated: 10,
      matched: expected,
      share: expected / 10,
      invalid_rows: 0,
      rule_errors: 0,
      verdicts: null,
    });
    // The same expression given with --when (every argument a file), on the file twice.
    const twice = json([
      'rules',
      'test',
      '--when',
      'amount > 3000 && hour < 5',
      fixture('transactions.csv'),
      fixture('transactions.csv'),
    ]);
    expect(twice).toMatchObject({ rule: { name: null }, rows: 20, matched: 2 * expected });
    const text = cli(['rules', 'test', 'night-cash', fixture('transactions.csv'), '--db', db, '--format', 'table']);
    expect(text.stdout).toMatch(
      new RegExp(`matched\\s+${expected} of 10 \\(${((100 * expected) / 10).toFixed(2)}%\\)`),
    );
  });

  it("sees the model's outputs as secureflow score gives them, and legacy fields", () => {
    const scored = JSON.parse(cli(['score', '--no-store', fixture('transactions.csv'), '--format', 'json']).stdout);
    const expected = scored.filter(
      (s: { is_anomaly: boolean; risk_score: number }) => s.is_anomaly && s.risk_score > 99,
    ).length;
    const r = json([
      'rules',
      'test',
      '--when',
      'is_anomaly && risk_score > 99',
      fixture('transactions.csv'),
      '--db',
      freshDb(),
    ]);
    expect(r.matched).toBe(expected);
    expect(r.matched_flagged_by_model).toBe(expected);

    const legacy = csvRows('legacy.csv');
    const cash = legacy.filter((row) => row.merchant.includes('Cash') || row.type === 'transfer').length;
    const l = json([
      'rules',
      'test',
      '--when',
      'merchant.contains("Cash") || type == "transfer"',
      fixture('legacy.csv'),
    ]);
    expect(l).toMatchObject({ rows: legacy.length, matched: cash });
  });

  it('reports bad rows and a rule failing on a row without failing the others', () => {
    const rows = csvRows('transactions.csv');
    const r = json([
      'rules',
      'test',
      '--when',
      '100 / int(hour) > 5 || amount > 1000',
      fixture('transactions.csv'),
      fixture('bad-rows.csv'),
    ]);
    expect(r.rows).toBe(rows.length + 8);
    expect(r.invalid_rows).toBe(6);
    expect(r.errors[0]).toMatchObject({
      file: fixture('bad-rows.csv'),
      line: 3,
      error: expect.stringMatching(/amount/),
    });
    // hour 0: an integer division by zero on that row alone.
    const input = 'amount,hour,day_of_week,merchant_category,transaction_type\n10,2,1,1,0\n10,0,1,1,0\n10,50,1,1,0\n';
    const failed = cli(['rules', 'test', '--when', '100 / int(hour) > 5', '-', '--format', 'json'], { input });
    expect(failed.code).toBe(0);
    expect(JSON.parse(failed.stdout)).toMatchObject({
      rows: 3,
      evaluated: 1,
      matched: 1,
      rule_errors: 1,
      invalid_rows: 1,
      errors: [
        { file: 'stdin', line: 3, error: expect.stringMatching(/divi/i) },
        { file: 'stdin', line: 4, error: expect.stringMatching(/hour/) },
      ],
    });
  });

  it('on stored transactions: matches, and among those with a verdict, the confirmed fraud', () => {
    const db = freshDb();
    expect(cli(['score', fixture('transactions.csv'), '--db', db, '-q']).code).toBe(0);
    const stored = json(['transactions', 'list', '--db', db, '--limit', '100']).transactions as {
      id: number;
      amount: number;
      hour: number;
      is_fraudulent: boolean;
    }[];
    // Verdicts on four transactions: two right, two wrong.
    const verdicts = new Map<number, boolean>([
      [1, true],
      [2, false],
      [4, true],
      [10, false],
    ]);
    for (const [id, correct] of verdicts)
      expect(cli(['feedback', String(id), correct ? '--correct' : '--incorrect', '--db', db]).code).toBe(0);
    const matches = stored.filter((t) => t.amount > 1000 || t.hour === 0);
    const judged = matches.filter((t) => verdicts.has(t.id));
    const fraud = judged.filter((t) => t.is_fraudulent === verdicts.get(t.id)).length;
    expect(judged.length).toBeGreaterThan(0);

    const r = json(['rules', 'test', '--when', 'amount > 1000 || hour == 0', '--since', '30d', '--db', db]);
    expect(r).toMatchObject({
      tested_on: { stored_since: expect.any(String) },
      rows: stored.length,
      matched: matches.length,
      verdicts: { with_verdict: judged.length, confirmed_fraud: fraud, confirmed_legitimate: judged.length - fraud },
      note: null,
    });
    const legacy = json(['rules', 'test', '--when', 'merchant == ""', '--since', '30d', '--db', db]);
    expect(legacy.matched).toBe(stored.length);
    expect(legacy.note).toMatch(/do not keep merchant/);

    expect(
      cli(['rules', 'test', '--when', 'true', '--since', '30d', fixture('transactions.csv'), '--db', db]).code,
    ).toBe(2);
    expect(cli(['rules', 'test', '--when', 'true', '--db', db]).code).toBe(2);
    expect(cli(['rules', 'test', 'missing', '--since', '30d', '--db', db]).code).toBe(4);
    expect(cli(['rules', 'test', '--when', 'amont > 1', '--since', '30d', '--db', db]).code).toBe(3);
    expect(cli(['rules', 'test', '--when', 'true', '--since', '30d', '--db', join(dir, 'none.db')]).code).toBe(4);
  });
});
