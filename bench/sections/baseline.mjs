// 6. Baseline: the npm package ml-isolation-forest (unseeded, no subsampling) against our kernel.
import { readModelText } from '../../dist/core/model-source.js';
import { IsolationForestModel } from '../../dist/model/model.js';
import { rocAuc } from '../../dist/model/metrics.js';
import { now, num, secs, millis, rate, table } from '../lib/util.mjs';

export async function baseline(ctx, out) {
  let IsolationForest;
  try {
    // CommonJS package (lib/index.js sets exports.IsolationForest); the named import resolves through Node's CJS interop.
    ({ IsolationForest } = await import('ml-isolation-forest'));
    if (typeof IsolationForest !== 'function')
      throw new Error(`no IsolationForest export (got ${typeof IsolationForest})`);
  } catch (e) {
    throw new Error(`cannot load ml-isolation-forest: ${e.message}`);
  }
  const { raw, labels } = ctx.data;
  const trainRows = Math.min(10000, ctx.N);
  const testRows = Math.min(ctx.baselineRows, ctx.N);
  const toArrays = (start, n) =>
    Array.from({ length: n }, (_, i) => Array.from(raw.subarray((start + i) * 5, (start + i) * 5 + 5)));
  const train = toArrays(0, trainRows);
  const test = toArrays(0, testRows);
  const testLabels = labels.subarray(0, testRows);

  const forest = new IsolationForest({ nEstimators: 100 });
  const t0 = now();
  forest.train(train);
  const trainMs = now() - t0;
  const t1 = now();
  const theirs = forest.predict(test);
  const predictMs = now() - t1;
  if (!Array.isArray(theirs) || theirs.length !== testRows)
    throw new Error(`predict returned ${theirs?.length} scores for ${testRows} rows`);

  // Ours on the same rows (bundled model, trained elsewhere; scoring only).
  const model = new IsolationForestModel(readModelText().doc);
  const subset = raw.subarray(0, testRows * 5);
  const ours = new Float64Array(testRows);
  const work = new Float64Array(testRows * 5);
  model.scoreRows(subset, testRows, ours, work);
  let oursMs = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = now();
    model.scoreRows(subset, testRows, ours, work);
    oursMs = Math.min(oursMs, now() - t);
  }
  const theirRate = (testRows / predictMs) * 1000;
  const ourRate = (testRows / oursMs) * 1000;
  const theirAuc = rocAuc(theirs, testLabels);
  const ourAuc = rocAuc(ours, testLabels);
  out(
    table(
      [`${num(testRows)} rows, 1 core`, 'train', 'score', 'throughput', 'ROC-AUC'],
      [
        [
          `ml-isolation-forest 0.1.0 (100 trees, trained on ${num(trainRows)} rows)`,
          secs(trainMs),
          secs(predictMs),
          rate(theirRate),
          theirAuc.toFixed(4),
        ],
        ['secureflow scoreRows (bundled model)', '-', millis(oursMs), rate(ourRate), ourAuc.toFixed(4)],
      ],
    ),
  );
  out(
    `  secureflow is ${(ourRate / theirRate).toFixed(0)}x faster here; ml-isolation-forest uses Math.random (unseeded, ` +
      `AUC varies run to run), trains on all rows given (no 256-row subsampling) and takes arrays of arrays`,
  );
  return {
    trainRows,
    testRows,
    trainMs,
    predictMs,
    rowsPerSec: theirRate,
    rocAuc: theirAuc,
    ours: { scoreMs: oursMs, rowsPerSec: ourRate, rocAuc: ourAuc },
    speedup: ourRate / theirRate,
  };
}
