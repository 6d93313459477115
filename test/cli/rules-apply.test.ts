/**
 * Issue 15: the enabled rules of a database apply to every way of scoring with it, through the built CLI with real
 * rules in SQLite: each precedence case (allow, then block, then review, then the model's flag), single
 * transactions (flags, --json, stdin), CSV files scored in worker threads, --no-store, a rule that fails at run
 * time on one row only, --fail-on-decision, and the stored decisions read back.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, csvTable } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'secureflow-rules-apply-'));
let n = 0;
const freshDb = () => join(dir, `db-${++n}.sqlite`);

/** A database with these rules (name, expression, action), each added through the CLI. */
function dbWithRules(rules: [string, string, string][]): string {
  const db = freshDb();
  expect(cli(['migrate', '--db', db]).code).toBe(0);
  for (const [name, when, action] of rules) {
    const r = cli(['rules', 'add', name, '--when', when, '--action', action, '--db', db]);
    expect(r.code, r.stderr).toBe(0);
  }
  return db;
}

// Big amounts are blocked, night hours reviewed, the "vip" merchant always allowed, and one rule fails at run
// time on hour 3 rows only (an integer division by zero).
const RULES: [string, string, string][] = [
  ['big', 'amount > 3000', 'block'],
  ['night', 'hour < 5 || merchant_category == 7', 'review'],
  ['vip', 'merchant == "vip"', 'allow'],
  ['divides', '100 / (int(hour) - 3) > 1000', 'block'],
];

const flags = (amount: number, hour: number, extra: string[] = []) => [
  '--amount',
  String(amount),
  '--hour',
  String(hour),
  '--day-of-week',
  '2',
  '--merchant-category',
  '3',
  '--transaction-type',
  '0',
  ...extra,
];

function scoreOne(db: string, args: string[], input?: string) {
  const r = cli(['score', ...args, '--db', db, '--format', 'json'], { input });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe('rules applied to single transactions (built CLI, SQLite)', () => {
  const db = dbWithRules(RULES);

  it('decides each precedence case and names the matched rules, in rule order', () => {
    // allow wins over block and review (and over the model, which flags this one)
    const vip = scoreOne(db, flags(5000, 2, ['--merchant', 'vip']));
    expect(vip.is_anomaly).toBe(true);
    expect(vip.decision).toBe('allow');
    expect(vip.matched_rules).toEqual([
      { name: 'big', action: 'block' },
      { name: 'night', action: 'review' },
      { name: 'vip', action: 'allow' },
    ]);
    // then block, over review
    const big = scoreOne(db, flags(5000, 2));
    expect(big).toMatchObject({ decision: 'block', is_anomaly: true, is_fraudulent: true });
    expect(big.matched_rules.map((m: { name: string }) => m.name)).toEqual(['big', 'night']);
    // then review, even where the model does not flag
    const night = scoreOne(db, flags(40, 14, ['--merchant-category', '7']));
    expect(night).toMatchObject({ decision: 'review', matched_rules: [{ name: 'night', action: 'review' }] });
    expect(night.is_anomaly).toBe(false);
    // no rule: the model's flag (review what it flags, allow the rest)
    const plain = scoreOne(db, flags(40, 14));
    expect(plain).toMatchObject({ decision: 'allow', matched_rules: [], is_anomaly: false });
    const flaggedNoRule = scoreOne(db, flags(2900, 23, ['--transaction-type', '2']));
    expect(flaggedNoRule.is_anomaly).toBe(true);
    expect(flaggedNoRule).toMatchObject({ decision: 'review', matched_rules: [] });
    // a disabled rule does not apply
    expect(cli(['rules', 'disable', 'big', '--db', db]).code).toBe(0);
    expect(scoreOne(db, flags(5000, 14)).matched_rules).toEqual([]);
    expect(cli(['rules', 'enable', 'big', '--db', db]).code).toBe(0);
  });

  it('reads --json and stdin (legacy fields reach the rules), and stores what it answered', () => {
    const legacy = { amount: 5000, timestamp: '2024-05-01T02:00:00Z', merchant: 'vip', type: 'transfer' };
    const fromJson = scoreOne(db, ['--json', JSON.stringify(legacy)]);
    expect(fromJson.decision).toBe('allow');
    const fromStdin = scoreOne(db, [], JSON.stringify([legacy, { ...legacy, merchant: 'shop' }]));
    expect(fromStdin.map((r: { decision: string }) => r.decision)).toEqual(['allow', 'block']);
    const shown = cli(['transactions', 'show', String(fromStdin[1].transaction_id), '--db', db, '--format', 'json']);
    expect(shown.code, shown.stderr).toBe(0);
    const stored = JSON.parse(shown.stdout);
    expect(stored.decision).toBe('block');
    expect(stored.matched_rules).toEqual(fromStdin[1].matched_rules);
  });

  it('reports a rule that fails at run time on that transaction only, which is still decided', () => {
    const failing = scoreOne(db, flags(40, 3));
    expect(failing.rule_errors).toEqual([{ rule: 'divides', error: expect.stringMatching(/divi/i) }]);
    expect(failing).toMatchObject({ decision: 'review', matched_rules: [{ name: 'night', action: 'review' }] });
    const fine = scoreOne(db, flags(40, 4));
    expect(fine.rule_errors).toBeUndefined();
    const text = cli(['score', ...flags(40, 3), '--db', db, '--format', 'text', '--no-store']);
    expect(text.stdout).toMatch(/decision REVIEW {2}rules matched: night \(review\); rules failed: divides: /);
  });
});

describe('rules applied to CSV files (worker threads), stored or not', () => {
  const db = dbWithRules(RULES);
  const csv = join(dir, 'mixed.csv');
  // hour 3 rows make `divides` fail; a quoted cell sends a row off the fast reader's path.
  const lines = ['amount,hour,day_of_week,merchant_category,transaction_type,merchant'];
  for (let i = 0; i < 400; i++) {
    const amount = [5000, 40, 40, 5000, 2900][i % 5];
    const hour = [2, 4, 14, 2, 3][i % 5];
    const merchant = i % 10 === 3 ? '"vip"' : 'shop';
    lines.push(`${amount},${hour},2,3,0,${merchant}`);
  }
  writeFileSync(csv, `${lines.join('\n')}\n`);
  const expected = (i: number) => [['block', 'review', 'allow', i % 10 === 3 ? 'allow' : 'block', 'review'][i % 5]];

  it('decides every row in worker threads as single transactions are decided, failures on their rows only', () => {
    const r = cli(['score', csv, '--no-store', '--workers', '2', '--db', db, '--summary-json', join(dir, 's.json')]);
    expect(r.code, r.stderr).toBe(0);
    const rows = csvTable(r.stdout);
    expect(rows).toHaveLength(400);
    rows.forEach((row, i) => {
      expect([row.decision], `line ${row.line}`).toEqual(expected(i));
    });
    expect(rows[0].matched_rules).toBe('big;night');
    expect(rows[3].matched_rules).toBe('big;night;vip');
    expect(rows[2].matched_rules).toBe('');
    // hour 3 rows (every fifth) carry the failure; no other row does
    rows.forEach((row, i) => {
      expect(row.rule_errors !== '', `line ${row.line}`).toBe(i % 5 === 4);
    });
    expect(rows[4].rule_errors).toMatch(/^divides: /);
    const summary = JSON.parse(readFileSync(join(dir, 's.json'), 'utf8'));
    expect(summary.decisions).toEqual({ allow: 120, review: 160, block: 120 });
    expect(r.stderr).toMatch(/decisions: 120 allow, 160 review, 120 block/);
    // the same with one thread, and with the single-transaction path for one row of each kind
    const inline = cli(['score', csv, '--no-store', '--workers', '1', '--db', db]);
    expect(inline.stdout).toBe(r.stdout);
    for (let i = 0; i < 5; i++) {
      const one = scoreOne(db, [
        '--no-store',
        ...flags(Number(rows[i].amount), Number(rows[i].hour), ['--merchant', rows[i].merchant]),
      ]);
      expect(one.decision).toBe(rows[i].decision);
    }
  });

  it('stores each row with its decision and matched rules, read back the same (ndjson, transactions list)', () => {
    const r = cli(['score', csv, '--workers', '2', '--db', db, '--format', 'ndjson']);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows[3]).toMatchObject({
      decision: 'allow',
      matched_rules: [{ name: 'big' }, { name: 'night' }, { name: 'vip' }],
    });
    expect(rows[4].rule_errors).toEqual([{ rule: 'divides', error: expect.any(String) }]);
    const listed = cli(['transactions', 'list', '--db', db, '--limit', '400', '--format', 'json']);
    const stored = new Map(
      (JSON.parse(listed.stdout).transactions as { id: number }[]).map((t) => [t.id, t as Record<string, unknown>]),
    );
    for (const row of rows) {
      const s = stored.get(row.transaction_id)!;
      expect({ decision: s.decision, matched_rules: s.matched_rules }).toEqual({
        decision: row.decision,
        matched_rules: row.matched_rules,
      });
    }
    const table = cli(['transactions', 'list', '--db', db, '--limit', '10', '--format', 'csv']);
    expect(csvTable(table.stdout).map((t) => [t.decision, t.matched_rules])).toContainEqual(['allow', 'big;night;vip']);
  });

  it('--no-store applies the rules of the database in reach and leaves it untouched', () => {
    const before = JSON.parse(
      cli(['transactions', 'list', '--db', db, '--limit', '1', '--format', 'json']).stdout,
    ).total;
    const env = { SECUREFLOW_DB: db }; // found as a user would have it configured, not passed with --db
    const r = cli(['score', csv, '--no-store', '--workers', '2'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(csvTable(r.stdout).map((row) => row.decision)).toEqual(
      Array.from({ length: 400 }, (_, i) => expected(i)[0]),
    );
    const after = JSON.parse(
      cli(['transactions', 'list', '--db', db, '--limit', '1', '--format', 'json']).stdout,
    ).total;
    expect(after).toBe(before);
    // With no database in reach there are no rules: the model decides.
    const none = cli(['score', csv, '--no-store', '--db', join(dir, 'absent.sqlite')]);
    expect(csvTable(none.stdout).every((row) => row.matched_rules === '')).toBe(true);
  });

  it('gives rules the reference of an id column even when no ids are printed (--no-store)', () => {
    const refDb = dbWithRules([['test-orders', 'reference.startsWith("test-")', 'allow'], ...RULES]);
    const file = join(dir, 'refs.csv');
    writeFileSync(
      file,
      'id,amount,hour,day_of_week,merchant_category,transaction_type\ntest-1,5000,2,1,1,0\nx,5000,2,1,1,0\n',
    );
    for (const workers of ['1', '2']) {
      const r = cli(['score', file, '--no-store', '--db', refDb, '--workers', workers]);
      expect(csvTable(r.stdout).map((row) => [row.decision, row.matched_rules])).toEqual([
        ['allow', 'big;night;test-orders'],
        ['block', 'big;night'],
      ]);
    }
  });

  it('--fail-on-decision block or review exits 10 (after writing the output and the summary)', () => {
    const clean = join(dir, 'clean.csv');
    writeFileSync(clean, 'amount,hour,day_of_week,merchant_category,transaction_type\n40,14,2,3,0\n');
    const nightOnly = join(dir, 'night.csv');
    writeFileSync(nightOnly, 'amount,hour,day_of_week,merchant_category,transaction_type\n40,14,2,3,0\n40,4,2,3,0\n');
    expect(cli(['score', clean, '--no-store', '--db', db, '--fail-on-decision', 'review']).code).toBe(0);
    expect(cli(['score', nightOnly, '--no-store', '--db', db, '--fail-on-decision', 'block']).code).toBe(0);
    const summaryPath = join(dir, 'gate.json');
    const gated = cli([
      'score',
      nightOnly,
      '--no-store',
      '--db',
      db,
      '--fail-on-decision',
      'review',
      '--summary-json',
      summaryPath,
    ]);
    expect(gated.code).toBe(10);
    expect(csvTable(gated.stdout)).toHaveLength(2);
    expect(gated.stderr).toMatch(/1 transaction decided review or block \(--fail-on-decision review\)/);
    const summary = JSON.parse(readFileSync(summaryPath, 'utf8'));
    expect(summary).toMatchObject({
      decisions: { allow: 1, review: 1, block: 0 },
      gate: { fail_on_decision: 'review', passed: false },
      exit_code: 10,
    });
    const single = cli(['score', ...flags(5000, 14), '--no-store', '--db', db, '--fail-on-decision', 'block']);
    expect(single.code).toBe(10);
    expect(cli(['score', clean, '--no-store', '--db', db, '--fail-on-decision', 'allow']).code).toBe(2);
  });
});
