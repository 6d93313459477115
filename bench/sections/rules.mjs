// 13. Rules: what 20 enabled rules add to scoring a big CSV file (`score FILE --no-store`, the rules of the
// database in reach applied to every row). Runs with 0 and 20 rules are interleaved (the machine may be shared:
// each pair sees the same load) and medians compared. The target: at most +20% (compile once, evaluate per row).
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { CACHE_DIR } from '../lib/data.mjs';
import { CLI, countLines, GNU_TIME, hasGnuTime, median, num, runChecked, secs, table } from '../lib/util.mjs';

/**
 * `score FILE --no-store --db DB`: wall time, and CPU time (user + system, from GNU time) when available: on a
 * machine shared with other work, CPU time moves less with the load than wall time does.
 */
async function scoreWithRules(file, rows, workers, db) {
  const outPath = join(CACHE_DIR, `out-rules-${rows}.csv`);
  const args = [CLI, 'score', file, '-q', '--no-store', '--workers', String(workers), '--db', db];
  const r = hasGnuTime()
    ? await runChecked(GNU_TIME, ['-f', 'cpu %U %S', process.execPath, ...args], { stdoutPath: outPath })
    : await runChecked(process.execPath, args, { stdoutPath: outPath });
  const lines = await countLines(outPath);
  rmSync(outPath, { force: true });
  if (lines !== rows + 1) throw new Error(`expected ${rows + 1} output lines, got ${lines}`);
  const m = /cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
  return { wallMs: r.wallMs, cpuMs: m ? (Number(m[1]) + Number(m[2])) * 1000 : null };
}

/** Twenty rules of the kinds fraud teams write: thresholds, night hours, categories, score bands, combinations. */
export const BENCH_RULES = [
  ['big-amount', 'amount > 3000', 'review'],
  ['huge-amount', 'amount >= 9000', 'block'],
  ['night-big', 'amount > 1500 && hour < 5', 'block'],
  ['night', 'hour in [0, 1, 2, 3, 4]', 'review'],
  ['weekend-transfer', 'day_of_week >= 5 && transaction_type == 2', 'review'],
  ['withdrawal-big', 'transaction_type == 1 && amount > 800', 'review'],
  ['risky-categories', 'merchant_category in [7, 8, 9] && amount > 500', 'review'],
  ['tiny-amount', 'amount < 1', 'allow'],
  ['model-highest', 'risk_level == "highest" && amount > 2000', 'block'],
  ['model-score', 'anomaly_score > 0.7', 'block'],
  ['risk-band', 'risk_score > 99.5 && !is_anomaly', 'review'],
  ['double-amount', 'amount * 2 > 15000', 'block'],
  ['evening-transfer', 'hour >= 21 && transaction_type == 2 && amount > 1000', 'review'],
  ['category-0-big', 'merchant_category == 0 && amount > 2500', 'review'],
  ['refund-like', 'amount < 5 && transaction_type == 2', 'review'],
  ['ref-test', 'reference.startsWith("test-")', 'allow'],
  ['merchant-blocklist', 'merchant == "bad-shop" || category == "gambling"', 'block'],
  ['monday-night', 'day_of_week == 0 && hour < 3 && amount > 300', 'review'],
  ['flagged-small', 'is_anomaly && amount < 20', 'allow'],
  ['mid-risk', 'risk_score >= 90.0 && risk_score < 95.0 && amount > 100', 'review'],
];

export async function rules(ctx, out) {
  const big = await ctx.file(ctx.N);
  const dir = mkdtempSync(join(tmpdir(), 'secureflow-bench-rules-'));
  try {
    const none = join(dir, 'none.db');
    const twenty = join(dir, 'twenty.db');
    execFileSync(process.execPath, [CLI, 'migrate', '--db', none], { stdio: 'ignore' });
    for (const [name, when, action] of BENCH_RULES)
      execFileSync(process.execPath, [CLI, 'rules', 'add', name, '--when', when, '--action', action, '--db', twenty], {
        stdio: 'ignore',
      });
    const w = ctx.maxWorkers;
    const pairs = ctx.quick ? 2 : 5;
    const base = [];
    const ruled = [];
    for (let i = 0; i < pairs; i++) {
      // Alternate which goes first, so that neither always runs on a warmer page cache.
      const order = i % 2 === 0 ? [none, twenty] : [twenty, none];
      for (const db of order) (db === none ? base : ruled).push(await scoreWithRules(big.path, ctx.N, w, db));
    }
    const wall0 = median(base.map((r) => r.wallMs));
    const wall20 = median(ruled.map((r) => r.wallMs));
    const cpu = base[0].cpuMs !== null;
    const cpu0 = cpu ? median(base.map((r) => r.cpuMs)) : null;
    const cpu20 = cpu ? median(ruled.map((r) => r.cpuMs)) : null;
    const runs = (list) => list.map((r) => (r.wallMs / 1000).toFixed(2)).join(' ');
    out(
      table(
        [
          `score CSV --no-store, ${num(ctx.N)} rows, --workers ${w}`,
          `wall, median of ${pairs}`,
          'CPU (median)',
          'wall, each run',
        ],
        [
          ['0 rules', secs(wall0), secs(cpu0), runs(base)],
          ['20 enabled rules', secs(wall20), secs(cpu20), runs(ruled)],
        ],
      ),
    );
    const overhead = (wall20 / wall0 - 1) * 100;
    const cpuOverhead = cpu ? (cpu20 / cpu0 - 1) * 100 : null;
    out(
      `  20 rules add ${overhead.toFixed(1)}% wall time${cpu ? `, ${cpuOverhead.toFixed(1)}% CPU time` : ''} (target: at most 20%)`,
    );
    return {
      rows: ctx.N,
      workers: w,
      base,
      rules: ruled,
      medianWallMs: { none: wall0, twenty: wall20 },
      medianCpuMs: { none: cpu0, twenty: cpu20 },
      overhead,
      cpuOverhead,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
