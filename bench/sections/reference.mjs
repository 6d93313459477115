// 7. Reference figures of the original system (../shared/data/README.md), next to ours where comparable.
import { secs, mib, rate, table } from '../lib/util.mjs';

export const SKLEARN = {
  version: '1.6.1',
  rows: 1_000_000,
  wholeProcessMs: 6000,
  scoringMs: 3800,
  rowsPerSecOneCore: 260_000,
  peakRssKb: 304 * 1024,
};

export async function reference(ctx, out, results) {
  const cli = results.cli?.ok ? results.cli : null;
  const kern = results.kernel?.ok ? results.kernel : null;
  const wN = cli?.runs.find((r) => r.workers === ctx.maxWorkers);
  const w1 = cli?.runs.find((r) => r.workers === 1);
  const comparable = ctx.N === SKLEARN.rows;
  const ours = (v) => (comparable ? v : 'n/a (N ≠ 1M)');
  out(
    table(
      ['1,000,000 rows, 2-core machine', 'scikit-learn 1.6.1', 'secureflow (this run)'],
      [
        [
          'whole process (read CSV, score, write)',
          secs(SKLEARN.wholeProcessMs),
          ours(wN ? `${secs(wN.bestMs)} (--workers ${ctx.maxWorkers}); ${secs(w1?.bestMs)} (--workers 1)` : 'n/a'),
        ],
        ['scoring only', secs(SKLEARN.scoringMs), ours(kern ? `${secs(kern.bestMs)} (kernel, 1 core)` : 'n/a')],
        ['scoring rate, one core', rate(SKLEARN.rowsPerSecOneCore), kern ? rate(kern.rowsPerSec) : 'n/a'],
        [
          'peak memory',
          mib(SKLEARN.peakRssKb),
          ours(wN ? `${mib(wN.peakRssKb)} (--workers ${ctx.maxWorkers})` : 'n/a'),
        ],
      ],
    ),
  );
  out('  scikit-learn figures are quoted from ../shared/data/README.md, not measured here');
  return { sklearn: SKLEARN, comparable };
}
