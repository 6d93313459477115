// 2. Kernel throughput: IsolationForestModel.scoreRows on one core, per-row cost of explain(), and the two
// explanation kernels on blocks of rows.
import { readModelText } from '../../dist/core/model-source.js';
import { IsolationForestModel } from '../../dist/model/model.js';
import { rocAuc } from '../../dist/model/metrics.js';
import { ShapTable } from '../../dist/model/shap-table.js';
import { prepareShapTree } from '../../dist/model/tree-shap.js';
import { now, num, millis, rate, table } from '../lib/util.mjs';

export async function kernel(ctx, out) {
  const t0 = now();
  const { doc } = readModelText();
  const model = new IsolationForestModel(doc);
  const loadMs = now() - t0;
  const { raw, labels } = ctx.data;
  const count = ctx.N;
  const scores = new Float64Array(count);
  const work = new Float64Array(count * 5);
  model.scoreRows(raw, count, scores, work); // warm-up
  const runs = [];
  for (let i = 0; i < 3; i++) {
    const t = now();
    model.scoreRows(raw, count, scores, work);
    runs.push(now() - t);
  }
  const best = Math.min(...runs);
  let flagged = 0;
  for (let i = 0; i < count; i++) if (scores[i] >= model.threshold) flagged++;
  const auc = rocAuc(scores, labels);

  // Explanations: exact path-dependent TreeSHAP (the default of explain()), then the tabulated variant
  // that the CLI's batch --explain switches to.
  const explainRows = Math.min(ctx.explainKernelRows, count);
  const timeExplain = (m) => {
    for (let i = 0; i < 20; i++) m.explain(raw, i * 5); // warm-up (also builds the lazy SHAP trees)
    const t = now();
    let sink = 0;
    for (let i = 0; i < explainRows; i++) sink += m.explain(raw, i * 5).output;
    if (!Number.isFinite(sink)) throw new Error('explain returned a non-finite output');
    return now() - t;
  };
  const exactMs = timeExplain(model);
  const tabModel = new IsolationForestModel(doc);
  const tp = now();
  tabModel.prepareBatchExplanations();
  const tablePrepMs = now() - tp;
  const tabMs = timeExplain(tabModel);
  const usExact = (exactMs / explainRows) * 1000;
  const usTab = (tabMs / explainRows) * 1000;
  const blocks = explainBlocks(doc, tabModel, raw, Math.min(5_000, count));

  out(
    table(
      ['scoreRows (1 core, Float64Array in/out)', 'rows', 'best of 3', 'throughput'],
      [['score', num(count), millis(best), rate((count / best) * 1000)]],
    ),
  );
  out(
    `  runs: ${runs.map((r) => r.toFixed(0)).join(', ')} ms; model load+construct ${loadMs.toFixed(0)} ms; ` +
      `${doc.forest.trees.length} trees; flagged ${((100 * flagged) / count).toFixed(2)}% at threshold ${model.threshold}; ROC-AUC vs labels ${auc.toFixed(4)}`,
  );
  out('');
  out(
    table(
      ['explain(raw, offset)', 'rows', 'total', 'per row', '1M rows (extrapolated, 1 core)'],
      [
        [
          'exact TreeSHAP (default)',
          num(explainRows),
          millis(exactMs),
          `${num(usExact, 1)} µs`,
          `${num(usExact, 0)} s`,
        ],
        [
          'tabulated (prepareBatchExplanations)',
          num(explainRows),
          millis(tabMs),
          `${num(usTab, 1)} µs`,
          `${num(usTab, 0)} s`,
        ],
      ],
    ),
  );
  out(`  table build ${tablePrepMs.toFixed(0)} ms, not included above`);
  out('');
  out(
    table(
      [`ShapTable.explainBlock, ${num(blocks.rows)} rows (files, predict-batch)`, 'best of 5', 'per row'],
      [
        ['WebAssembly SIMD (shap-kernel.wat, the default)', millis(blocks.wasmMs), `${num(blocks.wasmUs, 2)} µs`],
        ['JavaScript (SECUREFLOW_SHAP_KERNEL=js)', millis(blocks.jsMs), `${num(blocks.jsUs, 2)} µs`],
      ],
    ),
  );
  out(`  ${(blocks.jsMs / blocks.wasmMs).toFixed(2)}x; the same bits: ${blocks.same ? 'yes' : 'NO'}`);
  if (!blocks.same) throw new Error('the WebAssembly and JavaScript kernels disagree');
  return {
    rows: count,
    runsMs: runs,
    bestMs: best,
    rowsPerSec: (count / best) * 1000,
    modelLoadMs: loadMs,
    trees: doc.forest.trees.length,
    flaggedShare: flagged / count,
    rocAuc: auc,
    explain: { rows: explainRows, exactUsPerRow: usExact, tabulatedUsPerRow: usTab, tableBuildMs: tablePrepMs },
    explainBlock: blocks,
  };
}

/** Both ShapTable kernels on the same encoded rows: best of 5 each, and whether every value has the same bits. */
function explainBlocks(doc, model, raw, rows) {
  const trees = doc.forest.trees.map(prepareShapTree);
  const x = new Float64Array(rows * model.encoder.width);
  model.encoder.encode(raw, rows, x);
  const run = (kernel) => {
    const t = new ShapTable(trees, model.encoder.reads, kernel);
    const phi = new Float64Array(rows * 5);
    let best = Infinity;
    for (let i = 0; i < 6; i++) {
      phi.fill(0);
      const start = now();
      t.explainBlock(x, 0, rows, phi, 1 / trees.length);
      if (i > 0) best = Math.min(best, now() - start); // the first warms up
    }
    return { ms: best, phi };
  };
  const wasm = run('auto');
  const js = run('js');
  const same = Buffer.from(wasm.phi.buffer).equals(Buffer.from(js.phi.buffer));
  return { rows, wasmMs: wasm.ms, jsMs: js.ms, wasmUs: (wasm.ms / rows) * 1000, jsUs: (js.ms / rows) * 1000, same };
}
