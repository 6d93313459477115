// secureflow benchmark suite: `npm run bench` (builds first) or `node bench/run.mjs` after a build.
//   BENCH_ROWS=n   rows of the big CSV file (default 1,000,000)
//   BENCH_ONLY=a,b only these sections (data, kernel, cli, memory, coldStart, baseline, storage, daemon, reference, executable, attacks, scenarios, rules)
//   SECUREFLOW_BENCH_BIN=path  the attacks section measures this build's bin/secureflow (e.g. one before a fix)
//   BENCH_QUICK=1  100,000 rows (unless BENCH_ROWS is set), single runs, smaller explain and baseline samples
// Prints a report to stdout and writes bench/results/latest.json. Each section is independent: one that
// fails prints its error and the others still run (the exit code is then 1).
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureCsv } from './lib/data.mjs';
import { ROOT, hasGnuTime, now, num } from './lib/util.mjs';
import { dataGeneration } from './sections/data.mjs';
import { kernel } from './sections/kernel.mjs';
import { cliEndToEnd } from './sections/cli.mjs';
import { flatMemory } from './sections/memory.mjs';
import { coldStart } from './sections/coldstart.mjs';
import { baseline } from './sections/baseline.mjs';
import { reference } from './sections/reference.mjs';
import { storage } from './sections/storage.mjs';
import { daemon } from './sections/daemon.mjs';
import { executable } from './sections/executable.mjs';
import { attacks } from './sections/attacks.mjs';
import { scenarios } from './sections/scenarios.mjs';
import { rules } from './sections/rules.mjs';

const quick = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
const rowsEnv = process.env.BENCH_ROWS;
const N = rowsEnv ? Number(rowsEnv) : quick ? 100_000 : 1_000_000;
if (!Number.isInteger(N) || N < 1000) {
  console.error(`BENCH_ROWS must be an integer >= 1000, got ${rowsEnv}`);
  process.exit(2);
}

const ctx = {
  N,
  quick,
  maxWorkers: availableParallelism(),
  cliRepeats: quick ? 1 : 2,
  explainCliRows: Math.min(N, quick ? 5_000 : 20_000),
  explainKernelRows: quick ? 500 : 2_000,
  baselineRows: Math.min(N, quick ? 20_000 : 100_000),
  coldRuns: quick ? 5 : 10,
  memorySizes: [...new Set([Math.round(N / 4), Math.round(N / 2), N])],
  data: null,
  files: new Map(),
  /** The cached CSV of `rows` rows, prepared at most once per run. */
  file(rows, data = null) {
    if (!this.files.has(rows)) this.files.set(rows, ensureCsv(rows, data));
    return this.files.get(rows);
  },
};
ctx.fileSizes = [...new Set([N, ...ctx.memorySizes, ctx.explainCliRows])];

let commit = null;
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
} catch {
  // not a git checkout
}
const meta = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: ctx.maxWorkers,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  commit,
  rows: N,
  quick,
  gnuTime: hasGnuTime(),
};

console.log(`secureflow benchmarks — ${num(N)} rows${quick ? ' (BENCH_QUICK: single runs, smaller samples)' : ''}`);
console.log(
  `${meta.date}  node ${meta.node}  ${meta.cores} cores (${meta.cpu})  ${meta.memoryGiB} GiB  commit ${commit ?? 'n/a'}`,
);

const sections = [
  ['data', '1. Data generation', dataGeneration],
  ['kernel', '2. Kernel throughput (in-process, one core)', kernel],
  ['cli', '3. End-to-end CLI', cliEndToEnd],
  ['memory', '4. Flat memory', flatMemory],
  ['coldStart', '5. Cold start', coldStart],
  ['baseline', '6. Baseline: ml-isolation-forest', baseline],
  ['storage', '7. Storage (SQLite file, Postgres)', storage],
  ['daemon', '8. Daemon (secureflow serve)', daemon],
  ['reference', '9. Reference: the original system', reference],
  ['executable', '10. Single executable (npm run package)', executable],
  ['attacks', '11. Daemon under attack (legitimate p99, event-loop lag, RSS, acked vs stored)', attacks],
  ['scenarios', '12. Detection scenarios (ROC-AUC, PR-AUC: ours vs scikit-learn)', scenarios],
  ['rules', '13. Rules: 0 vs 20 enabled rules on a big CSV file (--no-store)', rules],
].filter(([key]) => !process.env.BENCH_ONLY || process.env.BENCH_ONLY.split(',').includes(key));

const results = {};
const started = now();
for (const [key, title, fn] of sections) {
  console.log(`\n${title}`);
  const t0 = now();
  try {
    const r = await fn(ctx, (line) => console.log(line), results);
    results[key] = { ok: true, ...r, sectionMs: now() - t0 };
  } catch (e) {
    console.log(`  FAILED: ${e?.stack ?? e}`);
    results[key] = { ok: false, error: String(e?.message ?? e), sectionMs: now() - t0 };
  }
  if (key === 'kernel' && ctx.data) {
    // Keep only what the baseline needs; the rest of the big array can go.
    const n = ctx.baselineRows;
    ctx.data = { raw: ctx.data.raw.slice(0, n * 5), labels: ctx.data.labels.slice(0, n), rows: n };
  }
}
const totalMs = now() - started;
const failed = Object.entries(results)
  .filter(([, r]) => !r.ok)
  .map(([k]) => k);
console.log(
  `\nTotal ${(totalMs / 1000).toFixed(1)} s; ${failed.length ? `FAILED sections: ${failed.join(', ')}` : 'all sections passed'}`,
);

const outDir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(outDir, { recursive: true });
writeFileSync(new URL('./results/.gitignore', import.meta.url), '*\n!.gitignore\n');
const json = { meta: { ...meta, totalMs }, results };
writeFileSync(new URL('./results/latest.json', import.meta.url), JSON.stringify(json, null, 2) + '\n');
console.log(`Results written to bench/results/latest.json`);
if (failed.length) process.exitCode = 1;
