import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { csvChunks } from '../../src/core/batch/csv-chunks.js';
import { parseRecords } from '../../src/core/batch/csv-records.js';
import { STORE_CHUNK_BYTES } from '../../src/core/batch/run-batch.js';
import { createRandom, generateTransactions } from '../../src/model/index.js';
import { BIN, cli, csvTable, fixture } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'secureflow-store-'));
let n = 0;
const freshDb = () => join(dir, `db-${++n}.sqlite`);
const count = (db: string, where = '1=1') =>
  (
    new Database(db, { readonly: true }).prepare(`SELECT count(*) AS c FROM transactions WHERE ${where}`).get() as {
      c: number;
    }
  ).c;

describe('storage from the CLI (SQLite)', () => {
  it("stores every scored row of a file with one batch id, and prints each row's transaction_id", () => {
    const db = freshDb();
    const r = cli(['score', fixture('bad-rows.csv'), '--db', db]);
    expect(r.code).toBe(3);
    const rows = csvTable(r.stdout);
    expect(rows.map((x) => x.transaction_id)).toEqual(['1', '', '', '', '', '2', '', '']);
    const batch = /stored 2 rows as batch ([0-9a-f-]{36})/.exec(r.stderr)![1];
    expect(count(db, `batch_ref = (SELECT id FROM text_values WHERE value = '${batch}')`)).toBe(2); // migration 008: the uuid is stored once
    const listed = JSON.parse(cli(['transactions', 'list', '--db', db, '--batch', batch, '--format', 'json']).stdout);
    expect(listed.total).toBe(2);
    expect(listed.transactions.map((t: { id: number }) => t.id)).toEqual([2, 1]);
  });

  it('--no-store stores nothing and prints no ids', () => {
    const db = freshDb();
    cli(['score', fixture('transactions.csv'), '--db', db]); // creates the file
    const before = count(db);
    const r = cli(['score', fixture('transactions.csv'), '--db', db, '--no-store', '-q']);
    expect(Object.keys(csvTable(r.stdout)[0])).not.toContain('transaction_id');
    expect(count(db)).toBe(before);
  });

  it('store -> feedback -> show, and feedback updates the verdict', () => {
    const db = freshDb();
    const scored = JSON.parse(
      cli(['score', '--json', readFileSync(fixture('transaction.json'), 'utf8'), '--db', db, '--format', 'json'])
        .stdout,
    );
    expect(scored.transaction_id).toBe(1);
    expect(cli(['feedback', '1', '--correct', '--notes', 'confirmed with the bank', '--db', db]).code).toBe(0);
    const second = cli(['feedback', '1', '--incorrect', '--db', db, '--format', 'json']);
    expect(JSON.parse(second.stdout)).toMatchObject({ transaction_id: 1, is_correct: false });
    const shown = JSON.parse(cli(['transactions', 'show', '1', '--db', db, '--format', 'json']).stdout);
    expect(shown).toMatchObject({
      transaction_id: 1,
      reference: 'order-77',
      is_anomaly: true,
      feedback: { is_correct: false },
    });
    expect(Object.keys(shown.shap_explanation)).toHaveLength(5);
    expect(shown.risk_factors[0].feature).toBe('amount');
    const text = cli(['transactions', 'show', '1', '--db', db, '--format', 'text']).stdout;
    expect(text).toContain('Feedback: incorrect');
  });

  it('explains a stored batch row on show by recomputing with its model', () => {
    const db = freshDb();
    cli(['score', fixture('transactions.csv'), '--db', db, '-q']);
    const shown = JSON.parse(cli(['transactions', 'show', '10', '--db', db, '--format', 'json']).stdout);
    expect(shown.transaction.amount).toBe(5000);
    expect(shown.risk_factors[0].description).toMatch(/^amount 5,000\.00/);
  });

  it('answers unknown and malformed ids clearly', () => {
    const db = freshDb();
    expect(cli(['migrate', '--db', db]).code).toBe(0); // an empty database: read-only commands refuse a missing one
    const unknown = cli(['feedback', '999', '--correct', '--db', db]);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toBe('secureflow: transaction 999 not found\n');
    expect(cli(['feedback', 'abc', '--correct', '--db', db]).code).toBe(2);
    expect(cli(['feedback', '1', '--db', db]).code).toBe(2);
    expect(cli(['transactions', 'show', '5', '--db', db]).code).toBe(4);
    expect(cli(['transactions', 'list', '--since', 'yesterday-ish', '--db', db]).code).toBe(2);
  });

  it('lists anomalies only, newest first, with limits', () => {
    const db = freshDb();
    cli(['score', fixture('transactions.csv'), '--db', db, '-q']);
    const all = JSON.parse(cli(['transactions', 'list', '--db', db, '--since', '1h', '--format', 'json']).stdout);
    expect(all.total).toBe(10);
    const flagged = JSON.parse(
      cli(['transactions', 'list', '--anomalies', '--limit', '2', '--db', db, '--format', 'json']).stdout,
    );
    expect(flagged.total).toBe(4);
    expect(flagged.transactions.map((t: { id: number }) => t.id)).toEqual([10, 7]);
    const csv = cli(['transactions', 'list', '--db', db, '--format', 'csv']).stdout;
    expect(csv.split('\n')[0]).toMatch(/^id,created_at,amount/);
  });

  it('registers, activates and scores with a trained model', () => {
    const db = freshDb();
    const trained = JSON.parse(
      cli([
        'train',
        fixture('labelled.csv'),
        '--label-column',
        'label',
        '--out',
        join(dir, 'm.json'),
        '--register',
        '--activate',
        '--db',
        db,
        '-f',
        'json',
      ]).stdout,
    );
    expect(trained).toMatchObject({ registered: true, active: true });
    const models = JSON.parse(cli(['models', 'list', '--db', db, '-f', 'json']).stdout);
    expect(models).toHaveLength(1);
    expect(models[0]).toMatchObject({ version: trained.id, active: true, rows: 1100 });
    expect(models[0].metrics.roc_auc).toBeGreaterThan(0.98);
    const scored = JSON.parse(
      cli([
        'score',
        '--amount',
        '20',
        '--hour',
        '11',
        '--day-of-week',
        '2',
        '--merchant-category',
        '1',
        '--db',
        db,
        '-f',
        'json',
      ]).stdout,
    );
    expect(scored.model_version).toBe(trained.id);
    expect(cli(['models', 'activate', 'nope', '--db', db]).code).toBe(4);
    const exported = join(dir, 'export.json');
    expect(cli(['models', 'show', trained.id, '--export', exported, '--db', db]).code).toBe(0);
    expect(readFileSync(exported, 'utf8')).toBe(readFileSync(join(dir, 'm.json'), 'utf8'));
  });

  it('creates keys shown once, stores only hashes, lists and revokes them', () => {
    const db = freshDb();
    const created = JSON.parse(
      cli(['keys', 'create', '--name', 'ci', '--role', 'scorer', '--db', db, '--format', 'json']).stdout,
    );
    expect(created).toMatchObject({ id: 1, name: 'ci', role: 'scorer' });
    expect(created.key).toMatch(/^sf_1_[\w-]{43}$/);
    const plain = cli(['keys', 'create', '--name', 'ops', '--role', 'viewer', '--db', db]);
    expect(plain.stdout).toMatch(/^sf_2_[\w-]{43}\n$/);
    const dump = readFileSync(db).toString('latin1');
    expect(dump).not.toContain(created.key.slice(5));
    const listed = JSON.parse(cli(['keys', 'list', '--db', db, '-f', 'json']).stdout);
    expect(listed.map((k: { name: string }) => k.name)).toEqual(['ci', 'ops']);
    expect(JSON.stringify(listed)).not.toMatch(/scrypt|key_hash/);
    expect(cli(['keys', 'revoke', '1', '--db', db]).code).toBe(0);
    expect(JSON.parse(cli(['keys', 'list', '--db', db, '-f', 'json']).stdout)[0].revoked_at).not.toBeNull();
    expect(cli(['keys', 'create', '--name', 'x', '--role', 'root', '--db', db]).code).toBe(2);
    expect(cli(['keys', 'revoke', '77', '--db', db]).code).toBe(4);
  });

  it('migrates a new database and then reports it up to date', () => {
    const db = freshDb();
    expect(cli(['migrate', '--db', db]).stdout).toMatch(/^applied 001_/);
    expect(cli(['migrate', '--db', db]).stdout).toContain('up to date');
  });

  it('picks the database from SECUREFLOW_DB, and the default file under XDG_DATA_HOME', () => {
    const db = freshDb();
    cli(['score', fixture('transactions.csv'), '-q'], { env: { SECUREFLOW_DB: db } });
    expect(count(db)).toBe(10);
    const home = join(dir, 'xdg');
    cli(['score', fixture('transactions.csv'), '-q'], {
      env: { XDG_DATA_HOME: home, SECUREFLOW_DB: '', DATABASE_URL: '' },
    });
    expect(count(join(home, 'secureflow', 'secureflow.db'))).toBe(10);
  });

  describe('large and interrupted runs', () => {
    const big = join(dir, 'big.csv');
    let chunkEnds: number[] = [];
    beforeAll(async () => {
      const d = generateTransactions(400_000, 0.05, createRandom(4));
      const lines = ['amount,hour,day_of_week,merchant_category,transaction_type'];
      for (let i = 0; i < d.rows; i++) lines.push(Array.from(d.raw.subarray(i * 5, i * 5 + 5)).join(','));
      writeFileSync(big, `${lines.join('\n')}\n`);
      // Where whole chunks end, in rows, as the CLI cuts this file when storing into SQLite.
      let total = 0;
      const size = STORE_CHUNK_BYTES;
      for await (const c of csvChunks(createReadStream(big, { highWaterMark: size }), big, size)) {
        total += parseRecords(c.bytes.toString('utf8'), c.firstLine).count;
        chunkEnds.push(total);
      }
      chunkEnds = [0, ...chunkEnds];
    });

    it('stores whole chunks only when killed with -9, and the file stays sound', async () => {
      const db = freshDb();
      cli(['migrate', '--db', db]);
      const child = spawn(process.execPath, [BIN, 'score', big, '--db', db, '-q', '--workers', '2'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      await waitFor(() => count(db) > 0);
      child.kill('SIGKILL');
      await new Promise((resolve) => child.on('exit', resolve));
      const check = new Database(db);
      expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
      const stored = count(db);
      expect(chunkEnds).toContain(stored);
      expect(stored).toBeLessThan(400_000);
    });

    it('stops gracefully on SIGINT, saying how many rows it stored and in which batch', async () => {
      const db = freshDb();
      cli(['migrate', '--db', db]);
      const child = spawn(process.execPath, [BIN, 'score', big, '--db', db, '-q', '--workers', '2'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      await waitFor(() => count(db) > 0);
      child.kill('SIGINT');
      const code = await new Promise((resolve) => child.on('exit', resolve));
      expect(code).toBe(130);
      const m = /stored ([\d,]+) rows as batch ([0-9a-f-]{36})/.exec(stderr);
      expect(m).not.toBeNull();
      const stored = Number(m![1].replace(/,/g, ''));
      expect(count(db)).toBe(stored);
      expect(chunkEnds).toContain(stored);
      expect(stderr).toContain('interrupted by SIGINT');
    });

    it('lets two processes write one SQLite file at once', async () => {
      const db = freshDb();
      cli(['migrate', '--db', db]);
      const run = () =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, [BIN, 'score', big, '--db', db, '-q', '--workers', '1'], {
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          let stderr = '';
          child.stderr.on('data', (d) => (stderr += d));
          child.on('exit', (code) => resolve({ code, stderr }));
        });
      const [a, b] = await Promise.all([run(), run()]);
      expect(a).toEqual({ code: 0, stderr: '' });
      expect(b).toEqual({ code: 0, stderr: '' });
      expect(count(db)).toBe(800_000);
    });
  });
});

async function waitFor(ok: () => boolean, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  for (;;) {
    try {
      if (ok()) return;
    } catch {
      // the table may not exist yet
    }
    if (Date.now() - start > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
