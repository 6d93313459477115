// Storage: bulk insert rate (SQLite file, Postgres), and the read paths on the stored rows.
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { openStore, resolveDatabase } from '../../dist/db/open-store.js';
import { CLI, runChecked, secs, table } from '../lib/util.mjs';

const PG_URL = process.env.SECUREFLOW_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const CHUNK = 37_000; // about what the CLI stores per 1 MiB chunk of input

function row(i) {
  return {
    reference: null, amount: 10 + (i % 1000), hour: i % 24, day_of_week: i % 7, merchant_category: i % 10, transaction_type: i % 3,
    is_fraudulent: i % 20 === 0, anomaly_score: 0.45, risk_score: 50.5, risk_level: 'normal', confidence: 0.5, explanation: null,
    model_version: 'abcdef0123456789', source: 'bench', batch_id: '9674bedc-1c0e-445c-bf93-f80abaed98da',
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
  out(table(
    ['backend', 'rows', 'insert s', 'rows/s', 'list ms', 'list --anomalies ms', 'dashboard ms'],
    Object.entries(results).map(([k, r]) =>
      r.error ? [k, r.error, '', '', '', '', ''] : [k, r.rows.toLocaleString('en-US'), r.insert_s.toFixed(2), r.rows_per_s.toLocaleString('en-US'), r.list_ms.toFixed(1), r.list_anomalies_ms.toFixed(1), r.dashboard_ms.toFixed(1)],
    ),
  ));

  // What storing adds to a whole `score` run (default workers), SQLite file vs --no-store.
  const { path: file } = await ctx.file(n);
  const db = fresh('score-store.db');
  const plain = await runChecked(process.execPath, [CLI, 'score', file, '-q', '--no-store']);
  const stored = await runChecked(process.execPath, [CLI, 'score', file, '-q', '--db', db]);
  results.scoreRun = { no_store_ms: plain.wallMs, store_ms: stored.wallMs, added_ms: stored.wallMs - plain.wallMs };
  out(table(['secureflow score, ' + n.toLocaleString('en-US') + ' rows', 'wall'], [
    ['--no-store', secs(plain.wallMs)],
    ['--db (SQLite file)', secs(stored.wallMs)],
    ['storage adds', secs(stored.wallMs - plain.wallMs)],
  ]));
  return results;
}
