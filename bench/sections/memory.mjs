// 4. Flat memory: peak RSS of the CSV -> CSV job at N/4, N/2 and N rows.
import { num, secs, mib, rate, table, hasGnuTime } from '../lib/util.mjs';
import { scoreFile } from './cli.mjs';

export async function flatMemory(ctx, out) {
  if (!hasGnuTime()) {
    out('  skipped: /usr/bin/time not found, no way to read peak RSS');
    return { skipped: 'no /usr/bin/time' };
  }
  const w = ctx.maxWorkers;
  const results = [];
  for (const rows of ctx.memorySizes) {
    const f = await ctx.file(rows);
    const r = await scoreFile(f.path, rows, w);
    results.push({ rows, bytes: f.bytes, wallMs: r.wallMs, peakRssKb: r.rssKb });
  }
  out(
    table(
      [`score CSV -> CSV, --workers ${w}`, 'input', 'wall', 'throughput', 'peak RSS'],
      results.map((r) => [
        `${num(r.rows)} rows`,
        `${(r.bytes / 1048576).toFixed(1)} MiB`,
        secs(r.wallMs),
        rate((r.rows / r.wallMs) * 1000),
        mib(r.peakRssKb),
      ]),
    ),
  );
  const first = results[0].peakRssKb;
  const last = results.at(-1).peakRssKb;
  out(
    `  peak RSS ${mib(first)} -> ${mib(last)} while the input grows ${(results.at(-1).rows / results[0].rows).toFixed(0)}x ` +
      `(${last > first ? '+' : ''}${(((last - first) / first) * 100).toFixed(0)}%)`,
  );
  return { workers: w, runs: results };
}
