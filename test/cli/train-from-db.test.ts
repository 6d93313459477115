/**
 * `secureflow train --from-db` through the built CLI: stored traffic less the confirmed fraud, on SQLite and on
 * Postgres (a fresh schema), with its provenance, byte-identical reruns, registration, and refusals.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPool, freshSchema, pgReachable, pgRequired } from '../support/postgres.js';
import { cli, fixture } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'secureflow-from-db-'));
const labelled = fixture('labelled.csv');

interface Reviewed {
  /** Ids an analyst confirmed as fraud, increasing. */
  fraud: number[];
  reviewed: number;
  /** The first id not confirmed as fraud: the first row used. */
  firstUsed: number;
}

/** Scores labelled.csv into `db` and records verdicts with `secureflow feedback`, each kind of verdict at least once. */
function scoreAndReview(db: string): Reviewed {
  const scored = cli(['score', labelled, '--db', db, '-f', 'json']);
  expect(scored.code, scored.stderr).toBe(0);
  const rows = JSON.parse(scored.stdout) as { transaction_id: number; is_anomaly: boolean }[];
  const flagged = rows.filter((r) => r.is_anomaly).map((r) => r.transaction_id);
  const passed = rows.filter((r) => !r.is_anomaly).map((r) => r.transaction_id);
  const verdicts: [number, '--correct' | '--incorrect'][] = [
    [flagged[0], '--correct'], // flagged and right: fraud
    [flagged[1], '--correct'],
    [flagged[2], '--incorrect'], // a false alarm: kept
    [passed[0], '--incorrect'], // passed and wrong: missed fraud
    [passed[1], '--correct'], // passed and right: kept
    [flagged[3], '--incorrect'], // replaced below: the current verdict counts
    [flagged[3], '--correct'],
  ];
  for (const [id, verdict] of verdicts) {
    const r = cli(['feedback', String(id), verdict, '--db', db]);
    expect(r.code, r.stderr).toBe(0);
  }
  const fraud = [flagged[0], flagged[1], passed[0], flagged[3]].sort((a, b) => a - b);
  let firstUsed = 1;
  while (fraud.includes(firstUsed)) firstUsed++;
  return { fraud, reviewed: 6, firstUsed };
}

/** labelled.csv without the rows of these ids (the fixture's n-th row is transaction n in a fresh database). */
function csvWithout(ids: number[], path: string): string {
  const [header, ...lines] = readFileSync(labelled, 'utf8').trim().split('\n');
  writeFileSync(path, [header, ...lines.filter((_, i) => !ids.includes(i + 1))].join('\n') + '\n');
  return path;
}

const train = (db: string, out: string, ...more: string[]) =>
  cli(['train', '--from-db', '--db', db, '--out', out, '-f', 'json', ...more]);

describe('secureflow train --from-db (SQLite)', () => {
  const db = join(dir, 'traffic.db');
  let reviewed: Reviewed;
  beforeAll(() => {
    reviewed = scoreAndReview(db);
  });

  it('trains on the stored rows less the confirmed fraud, recording which rows, as training on those rows would', () => {
    const out = join(dir, 'a.json');
    const r = train(db, out);
    expect(r.code, r.stderr).toBe(0);
    const rows = 1100 - reviewed.fraud.length;
    const summary = JSON.parse(r.stdout);
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    const provenance = {
      source: 'database',
      since: null,
      untilId: null,
      firstId: reviewed.firstUsed,
      lastId: 1100,
      rows,
      leftOut: reviewed.fraud.length,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    };
    expect(summary).toMatchObject({ id: doc.id, rows, source: 'database', provenance, registered: false });
    expect(doc.provenance).toEqual(provenance);
    expect(doc.training.rows).toBe(rows);

    // The hash is over the rows used as the model says: "id,amount,hour,day_of_week,merchant_category,transaction_type\n".
    const sqlite = new Database(db, { readonly: true });
    const stored = sqlite
      .prepare(
        'SELECT id, amount, hour, day_of_week, merchant_category, transaction_type FROM transactions ORDER BY id',
      )
      .raw()
      .all() as number[][];
    sqlite.close();
    const used = stored.filter((row) => !reviewed.fraud.includes(row[0]));
    expect(used).toHaveLength(rows);
    expect(doc.provenance.sha256).toBe(
      createHash('sha256')
        .update(used.map((row) => `${row.join(',')}\n`).join(''))
        .digest('hex'),
    );

    // The same trees, threshold and distribution as `train` on the CSV without the fraud rows.
    const fromFile = join(dir, 'from-file.json');
    const csv = csvWithout(reviewed.fraud, join(dir, 'without-fraud.csv'));
    expect(cli(['train', csv, '--label-column', 'label', '--out', fromFile]).code).toBe(0);
    const { id: _a, provenance: _p, ...trained } = doc;
    const { id: _b, ...fileTrained } = JSON.parse(readFileSync(fromFile, 'utf8'));
    expect(trained).toEqual(fileTrained);

    const text = cli(['train', '--from-db', '--db', db, '--out', join(dir, 'text.json'), '-f', 'text']).stdout;
    expect(text).toMatch(
      new RegExp(
        `^trained model ${doc.id} on 1,096 stored transactions \\(ids ${reviewed.firstUsed}\\.\\.1100; 4 confirmed fraud left out\\)`,
      ),
    );
  });

  it('gives a byte-identical file for the same database and flags', () => {
    for (const flags of [[], ['--since', '1d'], ['--since', '2020-01-01T00:00:00+02:00', '--until-id', '500']]) {
      const a = join(dir, 'same-a.json');
      const b = join(dir, 'same-b.json');
      expect(train(db, a, ...flags).code).toBe(0);
      expect(train(db, b, ...flags).code).toBe(0);
      expect(readFileSync(b, 'utf8'), flags.join(' ')).toBe(readFileSync(a, 'utf8'));
    }
    const bounded = JSON.parse(readFileSync(join(dir, 'same-a.json'), 'utf8')).provenance;
    const leftOut = reviewed.fraud.filter((id) => id <= 500).length;
    expect(bounded).toMatchObject({
      since: '2019-12-31T22:00:00.000Z',
      untilId: 500,
      firstId: reviewed.firstUsed,
      lastId: 500,
      rows: 500 - leftOut,
      leftOut,
    });
    expect(JSON.parse(train(db, join(dir, 'since.json'), '--since', '1D').stdout).provenance).toMatchObject({
      since: '1d',
      rows: 1096,
    });
  });

  it('--register --activate makes it the model score uses', () => {
    const registry = join(dir, 'registry.db');
    scoreAndReview(registry);
    const out = join(dir, 'registered.json');
    const r = train(registry, out, '--register', '--activate');
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    expect(JSON.parse(r.stdout)).toMatchObject({ id: doc.id, registered: true, active: true });
    const models = JSON.parse(cli(['models', 'list', '--db', registry, '-f', 'json']).stdout);
    expect(models).toEqual([expect.objectContaining({ version: doc.id, rows: 1096, active: true })]);
    const scored = JSON.parse(
      cli([
        'score',
        '--db',
        registry,
        '--amount',
        '25',
        '--hour',
        '12',
        '--day-of-week',
        '2',
        '--merchant-category',
        '1',
        '-f',
        'json',
      ]).stdout,
    );
    expect(scored.model_version).toBe(doc.id);
  });

  it('never creates a database, and writes no file, when there is none or nothing to train on', () => {
    const missing = join(dir, 'nowhere', 'none.db');
    const out = join(dir, 'none.json');
    const r = train(missing, out);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`no database at ${missing}`);
    expect(existsSync(missing)).toBe(false);
    expect(existsSync(out)).toBe(false);
    const empty = train(db, out, '--since', '9000-01-01');
    expect(empty.code).toBe(3);
    expect(empty.stderr).toContain('training needs at least 2 rows: 0 stored transactions since 9000-01-01');
    expect(existsSync(out)).toBe(false);
  });

  it('refuses files with --from-db, and database flags without it, naming the flags (exit 2)', () => {
    const out = join(dir, 'x.json');
    for (const [args, says] of [
      [['train', '--from-db', labelled, '--out', out], '--from-db'],
      [['train', '--from-db', '--label-column', 'label', '--out', out], '--label-column'],
      [['train', labelled, '--since', '30d', '--out', out], '--since'],
      [['train', labelled, '--until-id', '9', '--out', out], '--until-id'],
      [['train', '--out', out], '--from-db'],
      [['train', '--from-db', '--since', 'last week', '--out', out], '--since'],
      [['train', '--from-db', '--until-id', '0', '--out', out], '--until-id'],
    ] as const) {
      const r = cli([...args, '--db', db]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(says);
    }
    expect(existsSync(out)).toBe(false);
  });
});

const admin = adminPool();
const reachable = await pgReachable(admin);
const schemas: string[] = [];
afterAll(async () => {
  if (reachable) for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await admin.end();
});
if (!reachable && !pgRequired) console.warn('\n*** SKIPPING the Postgres train --from-db tests: no server ***\n');

describe.skipIf(!reachable && !pgRequired)('secureflow train --from-db (Postgres)', () => {
  it('trains on a fresh schema as on SQLite: the same rows and verdicts give the same file, byte for byte', async () => {
    const { schema, url } = await freshSchema(admin, 'sf_fromdb');
    schemas.push(schema);
    const reviewed = scoreAndReview(url);
    const a = join(dir, 'pg-a.json');
    const r = train(url, a, '--register', '--activate');
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(a, 'utf8'));
    expect(doc.provenance).toMatchObject({
      firstId: reviewed.firstUsed,
      lastId: 1100,
      rows: 1096,
      leftOut: reviewed.fraud.length,
    });
    expect(JSON.parse(r.stdout)).toMatchObject({ registered: true, active: true });
    const b = join(dir, 'pg-b.json');
    expect(train(url, b).code).toBe(0);
    expect(readFileSync(b, 'utf8')).toBe(readFileSync(a, 'utf8'));
    const lite = join(dir, 'lite.db');
    scoreAndReview(lite);
    const c = join(dir, 'lite.json');
    expect(train(lite, c).code).toBe(0);
    expect(readFileSync(c, 'utf8')).toBe(readFileSync(a, 'utf8'));
    const { rows } = await admin.query(`SELECT version, rows, active FROM ${schema}.model_versions`);
    expect(rows).toEqual([{ version: doc.id, rows: 1096, active: true }]);
  });

  it('names a schema with nothing stored: exit 3, no file', async () => {
    const { schema, url } = await freshSchema(admin, 'sf_fromdb');
    schemas.push(schema);
    const out = join(dir, 'pg-empty.json');
    const r = train(url, out);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('training needs at least 2 rows: 0 stored transactions');
    expect(existsSync(out)).toBe(false);
  });
});
