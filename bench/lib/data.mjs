// Deterministic synthetic transactions from the project's own generator, written to cached CSV files.
import { mkdirSync, existsSync, statSync, readFileSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTransactions, createRandom } from '../../dist/model/index.js';
import { now } from './util.mjs';

export const SEED = 42;
export const ANOMALY_RATE = 0.05;
export const FEATURES = 5;
export const HEADER = 'amount,hour,day_of_week,merchant_category,transaction_type';
export const CACHE_DIR = join(tmpdir(), 'secureflow-bench');

export function generate(rows, seed = SEED) {
  return generateTransactions(rows, ANOMALY_RATE, createRandom(seed));
}

/** Writes `rows` rows of `raw` as CSV, CHUNK rows per write, so the whole text never sits in memory. */
export async function writeCsv(path, raw, rows) {
  const CHUNK = 20000;
  const fh = await open(path, 'w');
  try {
    await fh.write(HEADER + '\n');
    for (let start = 0; start < rows; start += CHUNK) {
      const end = Math.min(rows, start + CHUNK);
      const lines = new Array(end - start);
      for (let i = start; i < end; i++) {
        const o = i * FEATURES;
        // Numbers print in their shortest form: amounts keep their (up to 2) decimals, integers stay integers.
        lines[i - start] = `${raw[o]},${raw[o + 1]},${raw[o + 2]},${raw[o + 3]},${raw[o + 4]}\n`;
      }
      await fh.write(lines.join(''));
    }
  } finally {
    await fh.close();
  }
}

/**
 * The cached CSV of `rows` generated rows (seed SEED), written if missing or stale.
 * Returns { path, rows, bytes, cached, genMs, writeMs }; `data` is passed in when the caller already generated it.
 */
export async function ensureCsv(rows, data = null) {
  mkdirSync(CACHE_DIR, { recursive: true });
  const path = join(CACHE_DIR, `transactions-${rows}-seed${SEED}.csv`);
  const meta = `${path}.json`;
  if (existsSync(path) && existsSync(meta)) {
    try {
      const m = JSON.parse(readFileSync(meta, 'utf8'));
      const bytes = statSync(path).size;
      if (m.rows === rows && m.seed === SEED && m.bytes === bytes)
        return { path, rows, bytes, cached: true, genMs: null, writeMs: null };
    } catch {
      // fall through and rewrite
    }
  }
  let genMs = null;
  if (!data) {
    const t0 = now();
    data = generate(rows);
    genMs = now() - t0;
  }
  const tmp = `${path}.${process.pid}.tmp`;
  const t1 = now();
  try {
    await writeCsv(tmp, data.raw, rows);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  const writeMs = now() - t1;
  const bytes = statSync(path).size;
  writeFileSync(meta, JSON.stringify({ rows, seed: SEED, anomalyRate: ANOMALY_RATE, bytes }) + '\n');
  return { path, rows, bytes, cached: false, genMs, writeMs };
}
