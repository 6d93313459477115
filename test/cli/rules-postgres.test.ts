/** secureflow rules through the built CLI against Postgres (a fresh schema), as storage-postgres.test.ts does. */
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, fixture } from './run-cli.js';

const url = process.env.SECUREFLOW_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 3000 });
admin.on('error', () => {});
const reachable = await admin.query('SELECT 1').then(
  () => true,
  () => false,
);
const schema = `sf_rules_${randomBytes(5).toString('hex')}`;
afterAll(async () => {
  if (reachable) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});
if (!reachable && process.env.SECUREFLOW_REQUIRE_POSTGRES !== '1')
  console.warn(`\n*** SKIPPING the Postgres rules CLI tests: cannot reach ${url} ***\n`);

describe.skipIf(!reachable && process.env.SECUREFLOW_REQUIRE_POSTGRES !== '1')('secureflow rules (Postgres)', () => {
  it('adds, disables, removes with history, refuses a bad rule, and backtests stored transactions', async () => {
    await admin.query(`CREATE SCHEMA ${schema}`);
    const db = `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
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
