// Storage: bulk insert rate (SQLite file, Postgres), and the read paths on the stored rows.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { openStore, resolveDatabase } from '../../dist/db/open-store.js';
import { CLI, runChecked, secs, table } from '../lib/util.mjs';

const PG_URL = process.env.SECUREFLOW_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const CHUNK = 37_000; // about what the CLI stores per 1 MiB chunk of input

function row(i) {
  return {
    reference: null,
    amount: 10 + (i % 1000),
    hour: i % 24,
    day_of_week: i % 7,
    merchant_category: i % 10,
    transaction_type: i % 3,
    is_fraudulent: i % 20 === 0,
    decision: i % 20 === 0 ? 'review' : 'allow',
    matched_rules: [],
    anomaly_score: 0.45,
    risk_score: 50.5,
    risk_level: 'normal',
    confidence: 0.5,
    explanation: null,
    model_version: 'abcdef0123456789',
    source: 'bench',
    batch_id: '9674bedc-1c0e-445c-bf93-f80abaed98da',
  };
}

async function measure(store, n) {
  let insertMs = 0;
  for (let s = 0; s < n; s += CHUNK) {
    const rows = Array.from({ length: Math.min(CHUNK, n - s) }, (_, k) => row(s + k));
    const t = performance.now();
    await store.insertTransactions(rows);
    insertMs += performance.now() - t;
  }
  const time = async (fn) => {
    await fn();
    const t = performance.now();
    await fn();
    return performance.now() - t;
  };
  return {
    rows: n,
    insert_s: insertMs / 1000,
    rows_per_s: Math.round(n / (insertMs / 1000)),
    list_ms: await time(() => store.listTransactions({ limit: 20 })),
    list_anomalies_ms: await time(() => store.listTransactions({ anomaliesOnly: true, limit: 20 })),
    dashboard_ms: await time(() => store.dashboard(new Date(Date.now() - 7 * 86_400_000))),
  };
}

export async function storage(ctx, out) {
  const n = ctx.N;
  const results = {};
  const dir = join(tmpdir(), 'secureflow-bench');
  const fresh = (name) => {
    const file = join(dir, name);
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    return file;
  };
  const sqlite = await openStore(resolveDatabase(fresh('storage.db')));
  try {
    results.sqlite = await measure(sqlite, n);
  } finally {
    await sqlite.close();
  }
  const schema = `sf_bench_${process.pid}`;
  try {
    execFileSync('psql', [PG_URL, '-qc', `CREATE SCHEMA ${schema}`], { stdio: 'ignore' });
    const pg = await openStore(resolveDatabase(PG_URL), { schema });
    try {
      results.postgres = await measure(pg, n);
    } finally {
      await pg.close();
      execFileSync('psql', [PG_URL, '-qc', `DROP SCHEMA ${schema} CASCADE`], { stdio: 'ignore' });
    }
  } catch (e) {
    results.postgres = { error: String(e.message ?? e).split('\n')[0] };
  }
  out(
    table(
      ['backend', 'rows', 'insert s', 'rows/s', 'list ms', 'list --anomalies ms', 'dashboard ms'],
      Object.entries(results).map(([k, r]) =>
        r.error
          ? [k, r.error, '', '', '', '', '']
          : [
              k,
              r.rows.toLocaleString('en-US'),
              r.insert_s.toFixed(2),
              r.rows_per_s.toLocaleString('en-US'),
              r.list_ms.toFixed(1),
              r.list_anomalies_ms.toFixed(1),
              r.dashboard_ms.toFixed(1),
            ],
      ),
    ),
  );

  // What storing adds to a whole `score` run (default workers), beside the same run with --no-store (issue 12 item 8:
  // SQLite <= 2x with <= 120 bytes/row, Postgres by COPY <= 3x, both <= 200 MB peak; quoted CSV <= 1.5x unquoted).
  // Each run is repeated (BENCH_STORAGE_RUNS, default 3), interleaved, and the median wall time reported with the
  // highest peak RSS: on this 2-core VM one run of the same command varies by +-15%, enough to flip a ratio.
  const { path: file } = await ctx.file(n);
  const quotedFile = join(dir, `quoted-${n}.csv`);
  writeQuoted(file, quotedFile);
  const runs = Math.max(1, Number(process.env.BENCH_STORAGE_RUNS ?? 3));
  const samples = { plain: [], stored: [], pg: [], quoted: [] };
  let bytes = NaN;
  let pgError = null;
  let pgBytesPerRow = null;
  for (let k = 0; k < runs; k++) {
    samples.plain.push(await runChecked(process.execPath, [CLI, 'score', file, '-q', '--no-store']));
    const db = fresh('score-store.db');
    samples.stored.push(await runChecked(process.execPath, [CLI, 'score', file, '-q', '--db', db]));
    bytes = sqliteBytesPerRow(db);
    samples.quoted.push(await runChecked(process.execPath, [CLI, 'score', quotedFile, '-q', '--no-store']));
    if (pgError) continue;
    const pgSchema = `sf_bench_cli_${process.pid}`;
    try {
      execFileSync('psql', [PG_URL, '-qc', `CREATE SCHEMA ${pgSchema}`], { stdio: 'ignore' });
      const url = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${pgSchema}`)}`;
      samples.pg.push(await runChecked(process.execPath, [CLI, 'score', file, '-q', '--db', url]));
      pgBytesPerRow = Number(
        execFileSync('psql', [
          PG_URL,
          '-Atc',
          `SELECT pg_total_relation_size('${pgSchema}.transactions') / greatest(count(*), 1) FROM ${pgSchema}.transactions`,
        ])
          .toString()
          .trim(),
      );
    } catch (e) {
      pgError = String(e.message ?? e).split('\n')[0];
    } finally {
      try {
        execFileSync('psql', [PG_URL, '-qc', `DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`], { stdio: 'ignore' });
      } catch {
        /* reported above */
      }
    }
  }
  const summary = (list) => {
    const walls = list.map((r) => r.wallMs).sort((a, b) => a - b);
    return {
      wallMs: walls[Math.floor(walls.length / 2)],
      walls,
      rssKb: Math.max(...list.map((r) => r.rssKb ?? 0)) || null,
    };
  };
  const plain = summary(samples.plain);
  const stored = summary(samples.stored);
  const quoted = summary(samples.quoted);
  const pgRun = pgError ? { error: pgError } : { ...summary(samples.pg), bytesPerRow: pgBytesPerRow };
  const ratio = (ms) => `${(ms / plain.wallMs).toFixed(2)}x`;
  const mb = (kb) => (kb == null ? '?' : `${Math.round(kb / 1024)} MiB`);
  results.scoreRun = {
    no_store_ms: plain.wallMs,
    no_store_rss_kb: plain.rssKb,
    sqlite_ms: stored.wallMs,
    sqlite_ratio: stored.wallMs / plain.wallMs,
    sqlite_rss_kb: stored.rssKb,
    sqlite_bytes_per_row: bytes,
    postgres_ms: pgRun.wallMs ?? null,
    postgres_ratio: pgRun.wallMs ? pgRun.wallMs / plain.wallMs : null,
    postgres_rss_kb: pgRun.rssKb ?? null,
    postgres_bytes_per_row: pgRun.bytesPerRow ?? null,
    postgres_error: pgRun.error ?? null,
    quoted_ms: quoted.wallMs,
    quoted_ratio: quoted.wallMs / plain.wallMs,
    runs,
    walls_ms: { no_store: plain.walls, sqlite: stored.walls, postgres: pgRun.walls ?? null, quoted: quoted.walls },
    // kept for older result readers
    store_ms: stored.wallMs,
    added_ms: stored.wallMs - plain.wallMs,
  };
  out(
    table(
      [
        `secureflow score, ${n.toLocaleString('en-US')} rows`,
        `median wall of ${runs}`,
        'vs --no-store',
        'target',
        'max peak RSS',
        'bytes/row',
      ],
      [
        ['--no-store', secs(plain.wallMs), '1.00x', '', mb(plain.rssKb), ''],
        [
          '--db SQLite file',
          secs(stored.wallMs),
          ratio(stored.wallMs),
          '<= 2x, <= 200 MB, <= 120 B',
          mb(stored.rssKb),
          String(Math.round(bytes)),
        ],
        pgRun.error
          ? ['--db postgres:// (COPY)', pgRun.error, '', '', '', '']
          : [
              '--db postgres:// (COPY)',
              secs(pgRun.wallMs),
              ratio(pgRun.wallMs),
              '<= 3x, <= 200 MB',
              mb(pgRun.rssKb),
              String(pgRun.bytesPerRow),
            ],
        [
          '--no-store, one quoted field a row',
          secs(quoted.wallMs),
          ratio(quoted.wallMs),
          '<= 1.5x',
          mb(quoted.rssKb),
          '',
        ],
      ],
    ),
  );
  return results;
}

/** Bytes of the SQLite file's used pages (after a checkpoint) per transaction row. */
function sqliteBytesPerRow(path) {
  const q = (sql) => execFileSync('sqlite3', [path, sql]).toString().trim();
  try {
    q('PRAGMA wal_checkpoint(TRUNCATE)');
    const used = Number(q('PRAGMA page_count')) - Number(q('PRAGMA freelist_count'));
    return (used * Number(q('PRAGMA page_size'))) / Number(q('SELECT count(*) FROM transactions'));
  } catch {
    return NaN; // no sqlite3 shell here
  }
}

/** The same CSV with the first field of every data row in quotes (real exports quote text fields). */
function writeQuoted(from, to) {
  const text = readFileSync(from, 'utf8');
  const nl = text.indexOf('\n');
  const body = text.slice(nl + 1).replace(/^([^,\n]*),/gm, '"$1",');
  writeFileSync(to, text.slice(0, nl + 1) + body);
}
