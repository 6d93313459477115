import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, resolveDatabase } from '../../src/db/open-store.js';
import { migrations as postgresMigrations } from '../../src/db/postgres/migrations.js';
import { migrations as sqliteMigrations } from '../../src/db/sqlite/migrations.js';
import { SqliteStore } from '../../src/db/sqlite/store.js';
import { storeContract } from './store-contract.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'secureflow-sqlite-'));
afterAll(() => {
  if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
});
let n = 0;
const freshPath = () => join(dir, `store-${++n}`, 'test.db'); // a missing directory: openStore creates it

storeContract('sqlite', async () => {
  const path = freshPath();
  const store = await openStore(resolveDatabase(path, {}));
  return { store, cleanup: () => store.close() };
});

describe('sqlite specifics', () => {
  it('has the same migration history as postgres, recorded in schema_migrations', async () => {
    const names = sqliteMigrations.map((m) => m.name);
    expect(names).toEqual(postgresMigrations.map((m) => m.name));
    expect(names).toEqual([...names].sort());
    const path = freshPath();
    const store = await openStore(resolveDatabase(path, {}));
    await store.close();
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT name FROM schema_migrations ORDER BY name').pluck().all()).toEqual(names);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('upgrades a database made before 003..008: fills stats and feedback times, moves text out of rows, loses nothing', async () => {
    const path = freshPath();
    // A database as an older secureflow left it: 001, 002, 004 and 007 applied, rows in the old text layout.
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(path, '..'), { recursive: true });
    const raw = new Database(path);
    raw.exec('CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL) STRICT');
    for (const m of sqliteMigrations.filter((m) =>
      ['001_initial', '002_transaction_indexes', '004_batch_anomalies_index', '007_feedback_history'].includes(m.name),
    )) {
      raw.exec(m.sql);
      raw.prepare("INSERT INTO schema_migrations VALUES (?, '2024-01-01T00:00:00.000Z')").run(m.name);
    }
    const insert =
      raw.prepare(`INSERT INTO transactions (reference, amount, hour, day_of_week, merchant_category, transaction_type, is_fraudulent,
      anomaly_score, risk_score, risk_level, confidence, explanation, model_version, source, batch_id, created_at) VALUES (?, ?, ?, 1, 2, 0, ?, ?, 50, ?, 0.5, ?, ?, ?, ?, ?)`);
    insert.run(
      'r1',
      12.5,
      4,
      0,
      0.5,
      'elevated',
      null,
      'aaaa1111',
      'cli',
      '9674bedc-1c0e-445c-bf93-f80abaed98da',
      '2024-05-01T12:00:00.123Z',
    );
    insert.run(null, 99, 4, 1, 0.9, 'highest', '{"amount":0.4}', 'aaaa1111', 'api', null, '2024-05-01T12:00:59.999Z');
    insert.run(
      null,
      3,
      9,
      0,
      0.25,
      'normal',
      null,
      'bbbb2222',
      'cli',
      '9674bedc-1c0e-445c-bf93-f80abaed98da',
      '2024-05-01T12:01:00.000Z',
    );
    raw
      .prepare(
        "INSERT INTO feedback (transaction_id, is_correct, notes, created_at, updated_at) VALUES (2, 1, 'ok', '2024-05-02T00:00:00.000Z', '2024-05-02T00:00:00.000Z')",
      )
      .run();
    raw.close();

    const store = await openStore(resolveDatabase(path, {}));
    expect((store as SqliteStore).appliedOnOpen).toEqual([
      '003_transaction_stats',
      '005_feedback_transaction_time',
      '006_stats_elevated',
      '008_lean_transactions',
      '009_risk_rules',
      '010_transaction_decisions',
      '011_user_accounts',
      '012_rule_matches_index',
    ]);
    const { rows, total } = await store.listTransactions({ limit: 10 });
    expect(total).toBe(3);
    expect(
      rows.map((r) => [
        r.id,
        r.reference,
        r.risk_level,
        r.model_version,
        r.source,
        r.batch_id,
        r.created_at,
        r.explanation,
        r.is_fraudulent,
      ]),
    ).toEqual([
      [
        3,
        null,
        'normal',
        'bbbb2222',
        'cli',
        '9674bedc-1c0e-445c-bf93-f80abaed98da',
        '2024-05-01T12:01:00.000Z',
        null,
        false,
      ],
      [2, null, 'highest', 'aaaa1111', 'api', null, '2024-05-01T12:00:59.999Z', { amount: 0.4 }, true],
      [
        1,
        'r1',
        'elevated',
        'aaaa1111',
        'cli',
        '9674bedc-1c0e-445c-bf93-f80abaed98da',
        '2024-05-01T12:00:00.123Z',
        null,
        false,
      ],
    ]);
    expect(
      (await store.listTransactions({ limit: 10, batchId: '9674bedc-1c0e-445c-bf93-f80abaed98da' })).rows.map(
        (r) => r.id,
      ),
    ).toEqual([3, 1]);
    expect(
      (await store.listTransactions({ limit: 10, since: new Date('2024-05-01T12:00:59.999Z') })).rows.map((r) => r.id),
    ).toEqual([3, 2]);
    const dash = await store.dashboard(new Date('2024-05-01T00:00:00.000Z'));
    expect(dash).toMatchObject({
      total_transactions: 3,
      anomalies_detected: 1,
      risk_levels: { normal: 1, elevated: 1, highest: 1 },
      feedback: { total_feedback: 1 },
    });
    expect((await store.getTransaction(2))?.feedback).toMatchObject({ is_correct: true, notes: 'ok' });
    // Rows stored before 010 have no decision of their own: they read as the model's flag decided them.
    expect(rows.map((r) => [r.id, r.decision, r.matched_rules])).toEqual([
      [3, 'allow', []],
      [2, 'review', []],
      [1, 'allow', []],
    ]);
    expect(await store.decisionSummary(new Date('2024-05-01T00:00:00.000Z'), 5)).toEqual({
      decisions: { allow: 2, review: 1, block: 0 },
      top_rules: [],
    });
    const db = new Database(path);
    expect(db.prepare('SELECT transaction_created_at FROM feedback').pluck().get()).toBe('2024-05-01T12:00:59.999Z');
    db.exec('DELETE FROM transactions WHERE id = 1'); // the trigger keeps the rollups true (an elevated row)
    db.close();
    expect(await store.dashboard(new Date('2024-05-01T00:00:00.000Z'))).toMatchObject({
      total_transactions: 2,
      risk_levels: { normal: 1, elevated: 0, highest: 1 },
    });
    expect((await store.listTransactions({ limit: 10 })).total).toBe(2);
    await store.close();
  });

  it('compacts the file after 008 rewrites a big old table (no half-empty file left behind)', async () => {
    const path = freshPath();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(path, '..'), { recursive: true });
    const raw = new Database(path);
    raw.exec('CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL) STRICT');
    for (const m of sqliteMigrations.filter((m) => m.name < '008')) {
      raw.exec(m.sql);
      raw.prepare("INSERT INTO schema_migrations VALUES (?, '2024-01-01T00:00:00.000Z')").run(m.name);
    }
    raw.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
      INSERT INTO transactions (reference, amount, hour, day_of_week, merchant_category, transaction_type, is_fraudulent, anomaly_score, risk_score,
        risk_level, confidence, explanation, model_version, source, batch_id, created_at)
      SELECT NULL, i, i % 24, i % 7, 1, 0, 0, 0.4, 40, 'normal', 0.6, NULL, '234809ab3f46da50', 'cli', '9674bedc-1c0e-445c-bf93-f80abaed98da',
        '2024-05-01T12:00:00.000Z' FROM n`);
    const before = raw.pragma('page_count', { simple: true }) as number;
    raw.close();
    const store = await openStore(resolveDatabase(path, {}));
    expect(await store.getTransaction(20000)).toMatchObject({
      amount: 20000,
      batch_id: '9674bedc-1c0e-445c-bf93-f80abaed98da',
      created_at: '2024-05-01T12:00:00.000Z',
    });
    await store.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('freelist_count', { simple: true })).toBe(0);
    expect(db.pragma('page_count', { simple: true }) as number).toBeLessThan(before * 0.6);
    db.close();
  });

  it('uses its indexes for listing and the dashboard', async () => {
    const path = freshPath();
    const store = await openStore(resolveDatabase(path, {}));
    await store.close();
    const db = new Database(path, { readonly: true });
    const plan = (sql: string) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join('; ');
    const list = plan('SELECT * FROM transactions t ORDER BY t.created_ms DESC, t.id DESC LIMIT 20');
    expect(list).toContain('transactions_created');
    expect(list).not.toContain('TEMP B-TREE');
    expect(
      plan('SELECT * FROM transactions t WHERE t.is_fraudulent = 1 ORDER BY t.created_ms DESC, t.id DESC LIMIT 20'),
    ).toContain('transactions_anomalies');
    const batch = plan(
      "SELECT * FROM transactions t WHERE t.batch_ref = (SELECT id FROM text_values WHERE value = 'x') ORDER BY t.created_ms DESC, t.id DESC LIMIT 20",
    );
    expect(batch).toContain('transactions_batch');
    expect(batch).not.toContain('TEMP B-TREE');
    db.close();
  });

  describe('two processes writing one file at once', () => {
    const out = join(ROOT, `.secureflow-test-${process.pid}`); // inside the project so the bundle finds node_modules
    const module = join(out, 'sqlite-store.mjs');
    beforeAll(async () => {
      // The child processes run plain JS: bundle SqliteStore (drivers left as imports) rather than build all of dist/.
      await build({
        entryPoints: [join(ROOT, 'src/db/sqlite/store.ts')],
        outfile: module,
        bundle: true,
        format: 'esm',
        platform: 'node',
        packages: 'external',
        logLevel: 'error',
      });
    });
    afterAll(() => {
      if (!process.env.KEEP) rmSync(out, { recursive: true, force: true });
    });

    const child = `
      const { SqliteStore } = await import(process.env.STORE_MODULE);
      // Start together (process start-up times differ by more than the whole run), then both open a new file:
      // both try to migrate it.
      await new Promise((r) => setTimeout(r, Number(process.env.START_AT) - Date.now()));
      const store = await SqliteStore.open(process.env.DB);
      for (let b = 0; b < 20; b++) {
        const batch = process.env.WHO + '-' + b;
        const rows = Array.from({ length: 500 }, (_, i) => ({
          reference: String(i), amount: i, hour: i % 24, day_of_week: i % 7, merchant_category: 1, transaction_type: 0, is_fraudulent: false,
          anomaly_score: 0.5, risk_score: 50, risk_level: 'normal', confidence: 0.5, explanation: { i }, model_version: 'm', source: 'test', batch_id: batch,
          decision: 'allow', matched_rules: [],
        }));
        await store.insertTransactions(rows);
        await new Promise((r) => setTimeout(r, 3)); // let the other process take the lock in between
      }
      await store.close();`;
    const run = (db: string, who: string, startAt: number) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const p = spawn(process.execPath, ['--input-type=module', '-e', child], {
          env: { ...process.env, STORE_MODULE: module, DB: db, WHO: who, START_AT: String(startAt) },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        p.stderr.on('data', (d) => (stderr += d));
        p.on('exit', (code) => resolve({ code, stderr }));
      });

    it('both succeed, every row arrives, each batch stays whole', async () => {
      const db = join(dir, 'shared.db');
      const startAt = Date.now() + 1500;
      const results = await Promise.all([run(db, 'a', startAt), run(db, 'b', startAt)]);
      expect(results).toEqual([
        { code: 0, stderr: '' },
        { code: 0, stderr: '' },
      ]);
      const store = await SqliteStore.open(db);
      expect((await store.listTransactions({ limit: 0 })).total).toBe(20_000);
      for (const who of ['a', 'b']) {
        const { rows, total } = await store.listTransactions({ batchId: `${who}-7`, limit: 1000 });
        expect(total).toBe(500);
        const ids = rows.map((r) => r.id).sort((x, y) => x - y);
        expect(ids[499] - ids[0]).toBe(499); // one write transaction per batch: contiguous ids
      }
      // They did write at the same time: batches of the two processes alternate in id order.
      const { rows } = await store.listTransactions({ limit: 20_000 });
      const owners = rows.map((r) => r.batch_id![0]).filter((who, i, all) => who !== all[i - 1]);
      expect(owners.length).toBeGreaterThan(2);
      await store.close();
    });
  });
});
