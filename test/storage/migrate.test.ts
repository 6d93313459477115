/**
 * `secureflow migrate` reports what it applied (the Fly release log shows it), and "up to date" only when
 * nothing was pending: on a fresh SQLite file and a fresh Postgres schema, through the built CLI.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migrations as pgMigrations } from '../../src/db/postgres/migrations.js';
import { migrations as sqliteMigrations } from '../../src/db/sqlite/migrations.js';
import { cli } from '../cli/run-cli.js';
import { adminPool, freshSchema, pgReachable, pgRequired } from '../support/postgres.js';

const admin = adminPool();
const reachable = await pgReachable(admin);
afterAll(() => admin.end());

function expectMigrates(db: string, display: RegExp, names: string[]): void {
  const first = cli(['migrate', '--db', db]);
  expect(first.code, first.stderr).toBe(0);
  expect(first.stdout).not.toMatch(/up to date/);
  expect(first.stdout).toMatch(display);
  for (const name of names) expect(first.stdout).toContain(name);
  expect(first.stdout).toMatch(new RegExp(`^applied ${names.join(', ')} to `));
  const second = cli(['migrate', '--db', db]);
  expect(second.code).toBe(0);
  expect(second.stdout).toMatch(/is up to date\n$/);
}

describe('secureflow migrate (built CLI)', () => {
  it('on a fresh SQLite file: lists every migration applied, then says up to date', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sf-migrate-')), 'm.db');
    expectMigrates(
      file,
      new RegExp(`to ${file}`),
      sqliteMigrations.map((m) => m.name),
    );
  });

  it.skipIf(!reachable && !pgRequired)('on a fresh Postgres schema: the same', async () => {
    expect(reachable).toBe(true);
    const { schema, url } = await freshSchema(admin, 'sf_migrate');
    try {
      expectMigrates(
        url,
        /to postgres:\/\//,
        pgMigrations.map((m) => m.name),
      );
      const { rows } = await admin.query(`SELECT name FROM ${schema}.schema_migrations ORDER BY name`);
      expect(rows.map((r) => r.name)).toEqual(pgMigrations.map((m) => m.name).sort());
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
  });
});
