/** secureflow rules through the built CLI against Postgres (a fresh schema), as storage-postgres.test.ts does. */
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminPool, PG_URL, pgReachable, pgRequired, schemaUrl } from '../support/postgres.js';
import { cli, fixture, writeRepeatedFixture } from './run-cli.js';

const admin = adminPool();
const reachable = await pgReachable(admin);
const schema = `sf_rules_${randomBytes(5).toString('hex')}`;
afterAll(async () => {
  if (reachable) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});
if (!reachable && !pgRequired)
  console.warn(`\n*** SKIPPING the Postgres rules CLI tests: cannot reach ${PG_URL} ***\n`);

describe.skipIf(!reachable && !pgRequired)('secureflow rules (Postgres)', () => {
  it('adds, disables, removes with history, refuses a bad rule, and backtests stored transactions', async () => {
    await admin.query(`CREATE SCHEMA ${schema}`);
    const db = schemaUrl(schema);
    expect(cli(['score', fixture('transactions.csv'), '--db', db, '-q']).code).toBe(0);
    expect(cli(['feedback', '10', '--correct', '--db', db]).code).toBe(0);

    const add = cli([
      'rules',
      'add',
      'night-cash',
      '--when',
      'amount > 3000 && hour < 5',
      '--action',
      'block',
      '--db',
      db,
    ]);
    expect(add).toMatchObject({ code: 0, stderr: '' });
    const bad = cli(['rules', 'add', 'bad', '--when', 'amount > "x"', '--action', 'block', '--db', db]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/line 1, column \d+: cannot compare a double with a string/);
    expect(cli(['rules', 'disable', 'night-cash', '--db', db]).code).toBe(0);

    const test = JSON.parse(cli(['rules', 'test', 'night-cash', '--since', '1d', '--db', db, '-f', 'json']).stdout);
    // transactions.csv: one row over 3000 before 5 o'clock (5000.00 at 4), transaction 10, judged correct.
    expect(test).toMatchObject({
      rule: { name: 'night-cash', enabled: false },
      rows: 10,
      matched: 1,
      verdicts: { with_verdict: 1 },
    });
    const flagged = JSON.parse(cli(['transactions', 'show', '10', '--db', db, '-f', 'json']).stdout).is_anomaly;
    expect(test.verdicts.confirmed_fraud).toBe(flagged ? 1 : 0);

    expect(cli(['rules', 'remove', 'night-cash', '--db', db]).code).toBe(0);
    const { rows } = await admin.query(
      `SELECT change, changed_by FROM ${schema}.risk_rule_history WHERE rule_name = 'night-cash' ORDER BY id`,
    );
    const me = userInfo().username;
    expect(rows).toEqual([
      { change: 'added', changed_by: me },
      { change: 'disabled', changed_by: me },
      { change: 'removed', changed_by: me },
    ]);
    expect((await admin.query(`SELECT count(*)::int AS n FROM ${schema}.risk_rules`)).rows[0].n).toBe(0);
  });
});

describe.skipIf(!reachable && !pgRequired)('rules applied to scoring (Postgres)', () => {
  it('decides single transactions and CSV rows (COPY) with the database rules, stored and read back alike', async () => {
    const own = `${schema}_apply`;
    await admin.query(`CREATE SCHEMA ${own}`);
    try {
      const db = schemaUrl(own);
      for (const [name, when, action] of [
        ['big', 'amount > 3000', 'block'],
        ['night', 'hour < 5', 'review'],
        ['small', 'amount < 60', 'allow'],
      ])
        expect(cli(['rules', 'add', name, '--when', when, '--action', action, '--db', db]).code).toBe(0);
      const one = cli([
        'score',
        '--amount',
        '5000',
        '--hour',
        '2',
        '--day-of-week',
        '1',
        '--merchant-category',
        '2',
        '--transaction-type',
        '0',
        '--db',
        db,
        '--format',
        'json',
      ]);
      expect(one.code, one.stderr).toBe(0);
      const result = JSON.parse(one.stdout);
      expect(result).toMatchObject({ decision: 'block', matched_rules: [{ name: 'big' }, { name: 'night' }] });
      const shown = JSON.parse(
        cli(['transactions', 'show', String(result.transaction_id), '--db', db, '-f', 'json']).stdout,
      );
      expect([shown.decision, shown.matched_rules]).toEqual([result.decision, result.matched_rules]);

      // 3,000 rows: stored through COPY, as big runs are
      const big = join(mkdtempSync(join(tmpdir(), 'secureflow-rules-pg-')), 'big.csv');
      writeRepeatedFixture('transactions.csv', 300, big);
      const run = cli(['score', big, '--db', db, '--format', 'ndjson', '--workers', '2']);
      expect(run.code, run.stderr).toBe(0);
      const rows = run.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(rows).toHaveLength(3000);
      const listed = JSON.parse(cli(['transactions', 'list', '--db', db, '--limit', '3001', '-f', 'json']).stdout);
      const byId = new Map(
        (listed.transactions as { id: number; decision: string; matched_rules: unknown }[]).map((t) => [t.id, t]),
      );
      for (const row of rows)
        expect([byId.get(row.transaction_id)?.decision, byId.get(row.transaction_id)?.matched_rules]).toEqual([
          row.decision,
          row.matched_rules,
        ]);
      expect(new Set(rows.map((r) => r.decision))).toEqual(new Set(['allow', 'review', 'block']));
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${own} CASCADE`);
    }
  }, 120_000);
});
