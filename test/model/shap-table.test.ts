import { describe, expect, it } from 'vitest';
import { createRandom, generateTransactions, IsolationForestModel, trainModel, transformRows } from './helpers.js';
import { BLOCK_ROWS, ShapTable } from '../../src/model/shap-table.js';
import { bruteForceShap, prepareShapTree, TreeShapExplainer, type ShapTree } from '../../src/model/tree-shap.js';

const data = generateTransactions(BLOCK_ROWS + 40, 0.05, createRandom(5));
// Plain models (five columns) here; conditional ones (columns reading two fields) in conditional-shap-table.test.ts.
const doc = trainModel(data.raw, data.rows, { seed: 3, trees: 20, conditionalFeatures: 'none' });
const trees = doc.forest.trees.map(prepareShapTree);
const table = new ShapTable(trees);

/** All generated rows, transformed, plus extremes and a value sitting exactly on the first split. */
function rows(): Float64Array {
  const raw = Float64Array.from([...data.raw, 0, 0, 0, 0, 0, 99999, 23, 6, 12, 7, 50, 12, 3, 4, 1]);
  const t = doc.forest.trees[0];
  if (t.feature[0] === 0) raw[raw.length - 5] = t.threshold[0];
  const x = new Float64Array(raw.length);
  transformRows(doc.features, raw, x, raw.length / 5);
  return x;
}
const x = rows();
const total = x.length / 5;

/** Reference values: brute force over all 2^5 coalitions, tree by tree. */
function bruteForce(forest: ShapTree[], xs: Float64Array, row: number): Float64Array {
  const phi = new Float64Array(5);
  for (const tree of forest) {
    const b = bruteForceShap(tree, xs, row * 5, 5);
    for (let j = 0; j < 5; j++) phi[j] += b[j];
  }
  return phi;
}

describe('ShapTable.explainBlock (many rows, tree by tree)', () => {
  it('gives exactly the per-row values for 0, 1, 2, 3, 6, 64, a full block and a block and a bit, from any offset', () => {
    const single = new Float64Array(total * 5);
    for (let r = 0; r < total; r++) table.explain(x, r * 5, single.subarray(r * 5, r * 5 + 5), 0.5);
    for (const [from, count] of [
      [0, 0],
      [7, 1],
      [0, 2],
      [11, 3],
      [3, 6],
      [100, 64],
      [1, BLOCK_ROWS],
      [0, BLOCK_ROWS + 3],
      [2, total - 2],
    ]) {
      const phi = new Float64Array(count * 5 + 5).fill(1); // it adds, and stays within count rows
      table.explainBlock(x, from * 5, count, phi, 0.5);
      for (let i = 0; i < count * 5; i++) expect(phi[i]).toBe(1 + single[from * 5 + i]);
      for (let i = count * 5; i < phi.length; i++) expect(phi[i]).toBe(1);
    }
  });

  it('equals brute force over all coalitions and TreeSHAP (Algorithm 2), row by row', () => {
    const explainer = new TreeShapExplainer(Math.max(...trees.map((t) => t.depth)));
    const from = total - 64; // generated rows, then the extremes and the threshold row
    const phi = new Float64Array(64 * 5);
    table.explainBlock(x, from * 5, 64, phi, 1);
    for (let r = 0; r < 64; r++) {
      const slow = bruteForce(trees, x, from + r);
      const alg2 = new Float64Array(5);
      for (const tree of trees) explainer.explain(tree, x, (from + r) * 5, alg2, 1);
      for (let j = 0; j < 5; j++) {
        expect(Math.abs(phi[r * 5 + j] - slow[j])).toBeLessThan(1e-9);
        expect(Math.abs(phi[r * 5 + j] - alg2[j])).toBeLessThan(1e-9);
      }
    }
  });

  it('handles trees of every shape: a single leaf, trees smaller than one unit, and deep trees', () => {
    for (const sampleSize of [2, 3, 5, 2048]) {
      const d = trainModel(data.raw, data.rows, { seed: 8, trees: 6, sampleSize, conditionalFeatures: 'none' });
      const forest = d.forest.trees.map(prepareShapTree);
      const xs = new Float64Array(40 * 5);
      transformRows(d.features, data.raw, xs, 40);
      const phi = new Float64Array(40 * 5);
      new ShapTable(forest).explainBlock(xs, 0, 40, phi, 1);
      for (let r = 0; r < 40; r++) {
        const slow = bruteForce(forest, xs, r);
        for (let j = 0; j < 5; j++) expect(Math.abs(phi[r * 5 + j] - slow[j])).toBeLessThan(1e-9);
      }
    }
    const leaf: ShapTree = {
      feature: Int32Array.of(-1),
      threshold: Float64Array.of(0),
      size: Float64Array.of(4),
      left: Int32Array.of(-1),
      right: Int32Array.of(-1),
      value: Float64Array.of(-2),
      depth: 0,
    };
    const phi = new Float64Array(10);
    new ShapTable([leaf, trees[0]]).explainBlock(x, 0, 2, phi, 1);
    const slow = bruteForce([trees[0]], x, 1);
    for (let j = 0; j < 5; j++) expect(Math.abs(phi[5 + j] - slow[j])).toBeLessThan(1e-9);
  });

  it('backs IsolationForestModel.explainRows: one call gives every row explain() gives', () => {
    const count = 300;
    const phi = new Float64Array(count * 5);
    const batch = new IsolationForestModel(doc);
    batch.explainRows(data.raw, count, phi); // 300 rows: builds the tables
    const reference = new IsolationForestModel(doc); // no tables: Algorithm 2
    for (let r = 0; r < count; r += 7) {
      const viaTable = Object.values(batch.explain(data.raw, r * 5).shap);
      const viaAlg2 = Object.values(reference.explain(data.raw, r * 5).shap);
      for (let j = 0; j < 5; j++) {
        expect(phi[r * 5 + j]).toBe(viaTable[j]);
        expect(Math.abs(phi[r * 5 + j] - viaAlg2[j])).toBeLessThan(1e-9);
      }
    }
  });

  it('gives the same bits whatever the block size (short groups: row by row in JavaScript, padded in WebAssembly)', () => {
    const model = new IsolationForestModel(doc);
    model.prepareBatchExplanations(); // as the daemon does at start: every block below goes through the tables
    const all = new Float64Array(40 * 5);
    model.explainRows(data.raw, 40, all); // ten lanes of four
    for (const count of [1, 2, 3, 4, 5, 6, 7, 9]) {
      for (const start of [0, 11]) {
        const phi = new Float64Array(count * 5);
        model.explainRows(data.raw.subarray(start * 5), count, phi);
        expect(Array.from(phi)).toEqual(Array.from(all.subarray(start * 5, (start + count) * 5)));
      }
    }
  });
});
