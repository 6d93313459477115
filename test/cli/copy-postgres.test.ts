import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './run-cli.js';
import { adminPool, pgReachable, schemaUrl } from '../support/postgres.js';

// Issue 12 item 8: CLI chunks go into Postgres by COPY (src/db/postgres/copy-insert.ts). The same file stored into
// SQLite and into Postgres must read back the same, whatever the references hold.
const admin = adminPool();
const reachable = await pgReachable(admin);
const schema = `sf_copy_${randomBytes(5).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'secureflow-copy-'));
afterAll(async () => {
  if (reachable) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

// Text COPY reads backslash escapes, and \N as NULL (control characters are refused before storage, by the CLI).
const TRICKY = ['back\\slash', 'x\\ty', 'quote "q"', 'accent é €', '\\N', 'semi;colon', 'x\\n', '\\', 'plain'];

function csvOf(rows: number): string {
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const lines = ['reference,amount,hour,day_of_week,merchant_category,transaction_type'];
  for (let i = 0; i < rows; i++) {
    const ref = i % 7 === 3 ? '' : i % 5 === 0 ? quote(`${TRICKY[i % TRICKY.length]}-${i}`) : `r${i}`;
    lines.push(`${ref},${((i * 37.13) % 5000) + (i % 100 === 0 ? 0.005 : 0)},${i % 24},${i % 7},${i % 10},${i % 3}`);
  }
  return lines.join('\n') + '\n';
}

describe.skipIf(!reachable && process.env.SECUREFLOW_REQUIRE_POSTGRES !== '1')(
  'COPY into Postgres from the CLI',
  () => {
    it('stores 5,000 rows (COPY path) that read back exactly as from SQLite: references, NULLs, explanations, ids in file order', async () => {
      await admin.query(`CREATE SCHEMA ${schema}`);
      const db = schemaUrl(schema);
      const input = join(dir, 'in.csv');
      writeFileSync(input, csvOf(5000));
      const sqlite = join(dir, 'same.db');
      for (const target of [db, sqlite]) {
        const r = cli(['score', input, '--db', target, '--explain', '-q']);
        expect(r.code, r.stderr).toBe(0);
      }
      const list = (target: string) => {
        const r = cli(['transactions', 'list', '--db', target, '--limit', '5000', '--format', 'json']);
        expect(r.code, r.stderr).toBe(0);
        // One batch uuid and one time per run and backend: everything else must match.
        return JSON.parse(r.stdout).transactions.map(({ batch_id, created_at, ...t }: Record<string, unknown>) => ({
          ...t,
          batch: typeof batch_id,
          at: typeof created_at,
        }));
      };
      const fromPg = list(db);
      expect(fromPg).toHaveLength(5000);
      expect(fromPg).toEqual(list(sqlite));
      const refs = new Map(fromPg.map((t: { id: number; reference: string | null }) => [t.id, t.reference]));
      expect(refs.get(1)).toBe('back\\slash-0'); // row i is id i + 1: ids follow the file
      expect(refs.get(5)).toBe('r4');
      expect(refs.get(41)).toBe('\\N-40');
      expect(refs.get(4)).toBeNull(); // an empty reference is NULL, not ''
      expect(fromPg.find((t: { id: number }) => t.id === 11).explanation.shap_explanation).toBeTypeOf('object');
    });

    it('gives each row the id it was stored under when the reserved ids are not consecutive', async () => {
      // Another session taking ids meanwhile leaves gaps; a sequence stepping by 3 makes every reservation gappy.
      const gappy = `${schema}_gaps`;
      await admin.query(`CREATE SCHEMA ${gappy}`);
      try {
        const db = schemaUrl(gappy);
        expect(cli(['migrate', '--db', db]).code).toBe(0);
        await admin.query(`ALTER SEQUENCE ${gappy}.transactions_id_seq INCREMENT BY 3`);
        const input = join(dir, 'gaps.csv');
        writeFileSync(input, csvOf(3000));
        const r = cli(['score', input, '--db', db, '--format', 'ndjson']);
        expect(r.code, r.stderr).toBe(0);
        const printed = r.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { transaction_id: number; line: number });
        expect(printed).toHaveLength(3000);
        const stored = await admin.query(`SELECT id, reference FROM ${gappy}.transactions ORDER BY id`);
        expect(stored.rows.map((x) => Number(x.id))).toEqual(printed.map((p) => p.transaction_id));
        expect(printed[1].transaction_id - printed[0].transaction_id).toBe(3);
        // Row i of the file (line i + 2) is stored under the id printed for it.
        expect(stored.rows[6].reference).toBe('r6');
        expect(printed[6].line).toBe(8);
      } finally {
        await admin.query(`DROP SCHEMA IF EXISTS ${gappy} CASCADE`);
      }
    });
  },
);
