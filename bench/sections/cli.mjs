// 3. End-to-end CLI: `secureflow score FILE -q --workers W > OUT`, wall time and peak RSS (GNU time).
import { join } from 'node:path';
import { rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CACHE_DIR } from '../lib/data.mjs';
import { CLI, runChecked, countLines, hasGnuTime, num, secs, mib, rate, table } from '../lib/util.mjs';

/** Scores `file` (rows data rows) with W workers; checks the output has one line per row plus the header. */
export async function scoreFile(file, rows, workers, extra = []) {
  const outPath = join(CACHE_DIR, `out-w${workers}-${rows}${extra.length ? '-explain' : ''}.csv`);
  const r = await runChecked(
    process.execPath,
    [CLI, 'score', file, '-q', '--no-store', '--workers', String(workers), ...extra],
    { stdoutPath: outPath },
  );
  const lines = await countLines(outPath);
  rmSync(outPath, { force: true });
  if (lines !== rows + 1)
    throw new Error(`expected ${rows + 1} output lines, got ${lines} (stderr: ${r.stderr.slice(0, 300)})`);
  return r;
}

export async function cliEndToEnd(ctx, out) {
  const big = await ctx.file(ctx.N);
  const workerCounts = [...new Set([1, ctx.maxWorkers])];
  const results = [];
  for (const w of workerCounts) {
    const runs = [];
    for (let i = 0; i < ctx.cliRepeats; i++) runs.push(await scoreFile(big.path, ctx.N, w));
    const best = runs.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
    const rss = runs.map((r) => r.rssKb).filter((x) => x !== null);
    results.push({
      workers: w,
      runsMs: runs.map((r) => r.wallMs),
      bestMs: best.wallMs,
      peakRssKb: rss.length ? Math.max(...rss) : null,
    });
  }
  out(
    table(
      [`score CSV -> CSV, ${num(ctx.N)} rows`, `wall (best of ${ctx.cliRepeats})`, 'throughput', 'peak RSS'],
      results.map((r) => [`--workers ${r.workers}`, secs(r.bestMs), rate((ctx.N / r.bestMs) * 1000), mib(r.peakRssKb)]),
    ),
  );
  if (!hasGnuTime()) out('  (/usr/bin/time not found: no RSS figures)');
  const sklearn = await sklearnEndToEnd(big, results, out);

  // --explain on a smaller file, against a plain run of the same file to isolate the explanation cost.
  const ex = await ctx.file(ctx.explainCliRows);
  const w = ctx.maxWorkers;
  const plain = await scoreFile(ex.path, ex.rows, w);
  const explained = await scoreFile(ex.path, ex.rows, w, ['--explain']);
  const perRowMs = explained.wallMs / ex.rows;
  const marginalMs = (explained.wallMs - plain.wallMs) / ex.rows;
  out('');
  out(
    table(
      [`--explain, ${num(ex.rows)} rows, --workers ${w}`, 'wall', 'per row', 'peak RSS'],
      [
        ['score', secs(plain.wallMs), `${num((plain.wallMs / ex.rows) * 1000, 1)} µs`, mib(plain.rssKb)],
        ['score --explain', secs(explained.wallMs), `${num(perRowMs * 1000, 1)} µs`, mib(explained.rssKb)],
        [
          '  explanation cost (difference)',
          secs(explained.wallMs - plain.wallMs),
          `${num(marginalMs * 1000, 1)} µs`,
          '',
        ],
      ],
    ),
  );
  out(
    `  EXTRAPOLATION (not measured): --explain on 1,000,000 rows ≈ ${secs(perRowMs * 1e6)} ` +
      `(${num(perRowMs * 1000, 1)} µs/row × 1M, --workers ${w})`,
  );
  return {
    rows: ctx.N,
    runs: results,
    sklearn,
    explain: {
      rows: ex.rows,
      workers: w,
      plainMs: plain.wallMs,
      explainMs: explained.wallMs,
      plainRssKb: plain.rssKb,
      explainRssKb: explained.rssKb,
      perRowUs: perRowMs * 1000,
      marginalPerRowUs: marginalMs * 1000,
      extrapolated1MRowsMs: perRowMs * 1e6,
    },
  };
}

const PYTHON = '/usr/bin/python3';
const SKLEARN_SCRIPT = fileURLToPath(new URL('../sklearn/end_to_end.py', import.meta.url));

/**
 * scikit-learn's whole process on the same file, on this machine, right after ours (bench/sklearn/end_to_end.py),
 * when Debian's python3-sklearn is installed: a ratio from one machine in one run, beside the reference figure
 * (6.0 s, scikit-learn 1.6.1, measured elsewhere). Skipped, saying so, without it.
 */
async function sklearnEndToEnd(big, results, out) {
  const probe = spawnSync(PYTHON, ['-c', 'import sklearn, pandas; print(sklearn.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    out('  scikit-learn on this machine: skipped (no /usr/bin/python3 with sklearn and pandas)');
    return null;
  }
  const version = probe.stdout.trim();
  const model = join(CACHE_DIR, 'sklearn-e2e-model.pkl');
  const train = join(CACHE_DIR, 'sklearn-e2e-train.csv');
  const head = spawnSync('head', ['-n', '10001', big.path], { encoding: 'utf8', maxBuffer: 1 << 24 });
  writeFileSync(train, head.stdout);
  await runChecked(PYTHON, [SKLEARN_SCRIPT, 'fit', model, train], {});
  const outPath = join(CACHE_DIR, 'sklearn-e2e-out.csv');
  const r = await runChecked(PYTHON, [SKLEARN_SCRIPT, 'score', model, big.path, outPath], {});
  rmSync(outPath, { force: true });
  const ours = Math.min(...results.map((x) => x.bestMs));
  out(
    `  scikit-learn ${version} on this machine, same file, whole process (read, scale, score, write): ` +
      `${secs(r.wallMs)}, peak ${mib(r.rssKb)}; ours ${secs(ours)}: ${(r.wallMs / ours).toFixed(1)}x`,
  );
  return { version, wallMs: r.wallMs, rssKb: r.rssKb, oursMs: ours };
}
