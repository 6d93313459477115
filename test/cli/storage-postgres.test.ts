import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { adminPool, PG_URL, pgReachable, pgRequired, schemaUrl } from '../support/postgres.js';
import { cli, fixture } from './run-cli.js';

const admin = adminPool();
const reachable = await pgReachable(admin);
const schema = `sf_cli_${randomBytes(5).toString('hex')}`;
afterAll(async () => {
  if (reachable) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});
if (!reachable && !pgRequired) console.warn(`\n*** SKIPPING the Postgres CLI tests: cannot reach ${PG_URL} ***\n`);

describe.skipIf(!reachable && !pgRequired)('storage from the CLI (Postgres)', () => {
  it('stores a scored file, records feedback and shows it, through a postgres:// URL', async () => {
    await admin.query(`CREATE SCHEMA ${schema}`);
    const db = schemaUrl(schema);
    const scored = cli(['score', fixture('transactions.csv'), '--db', db, '-f', 'json']);
    expect(scored.code).toBe(0);
    const rows = JSON.parse(scored.stdout);
    expect(rows.map((r: { transaction_id: number }) => r.transaction_id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(cli(['feedback', '2', '--incorrect', '--notes', 'regular customer', '--db', db]).code).toBe(0);
    const shown = JSON.parse(cli(['transactions', 'show', '2', '--db', db, '-f', 'json']).stdout);
    expect(shown).toMatchObject({ transaction_id: 2, feedback: { is_correct: false, notes: 'regular customer' } });
    expect(cli(['feedback', '99', '--correct', '--db', db]).code).toBe(4);
    const { rows: count } = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.transactions`);
    expect(count[0].n).toBe(10);
  });

  it('names a database that refuses a write after it opened (no privilege): exit 6, not an internal error', async () => {
    const own = `${schema}_ro`;
    const role = `${own}_role`;
    await admin.query(`CREATE SCHEMA ${own}`);
    try {
      expect(cli(['migrate', '--db', schemaUrl(own)]).code).toBe(0);
      // A role that may read everything (so the store opens: no migration pending) but write nothing.
      await admin.query(`CREATE ROLE ${role} LOGIN`);
      await admin.query(`GRANT USAGE ON SCHEMA ${own} TO ${role}`);
      await admin.query(`GRANT SELECT ON ALL TABLES IN SCHEMA ${own} TO ${role}`);
      const u = new URL(schemaUrl(own));
      u.username = role;
      const r = cli(['score', fixture('transactions.csv'), '--db', u.href]);
      expect(r.code).toBe(6);
      expect(r.stderr).toMatch(
        /^secureflow: the database postgres:\/\/.* refused: permission denied for table transactions\n$/,
      );
      expect(r.stderr).not.toMatch(/internal error|at /);
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${own} CASCADE`);
      await admin.query(`DROP OWNED BY ${role}`).catch(() => {});
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
    }
  });

  it('names an unreachable database without its password, and exits 6', () => {
    const r = cli(['transactions', 'list', '--db', 'postgres://app:s3cret@127.0.0.1:1/nowhere']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('postgres://app:***@127.0.0.1:1/nowhere');
    expect(r.stderr).not.toContain('s3cret');
  });
});
