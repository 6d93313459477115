// 3. End-to-end CLI: `secureflow score FILE -q --workers W > OUT`, wall time and peak RSS (GNU time).
import { join } from 'node:path';
import { rmSync } from 'node:fs';
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
