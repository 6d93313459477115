import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_URL = process.env.SECUREFLOW_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const pgRequired = process.env.SECUREFLOW_REQUIRE_POSTGRES === '1';

/** An admin pool for the test itself (creating schemas, checking what was stored). */
export function adminPool(): pg.Pool {
  const admin = new pg.Pool({ connectionString: PG_URL, max: 3, connectionTimeoutMillis: 3000 });
  admin.on('error', () => {});
  return admin;
}

export async function pgReachable(admin: pg.Pool): Promise<boolean> {
  return admin.query('SELECT 1').then(
    () => true,
    () => false,
  );
}

/** PG_URL with every connection's search_path set to `schema` (which the test creates). */
export function schemaUrl(schema: string): string {
  const u = new URL(PG_URL);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

/** A fresh schema, and a URL whose connections use it and carry a unique application_name (to find them). */
export async function freshSchema(
  admin: pg.Pool,
  prefix: string,
): Promise<{ schema: string; appName: string; url: string }> {
  const schema = `${prefix}_${randomBytes(5).toString('hex')}`;
  await admin.query(`CREATE SCHEMA ${schema}`);
  const u = new URL(schemaUrl(schema));
  u.searchParams.set('application_name', schema);
  return { schema, appName: schema, url: u.toString() };
}
