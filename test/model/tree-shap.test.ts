import { describe, expect, it } from 'vitest';
import { createRandom, generateTransactions, IsolationForestModel, trainModel, transformRows } from './helpers.js';
import { bruteForceShap, expectedValue, prepareShapTree, TreeShapExplainer } from '../../src/model/tree-shap.js';

const data = generateTransactions(2000, 0.05, createRandom(21));
// A plain model (five columns): Algorithm 2 and the tables; conditional models: test/model/conditional.test.ts.
const doc = trainModel(data.raw, data.rows, { seed: 9, trees: 30, conditionalFeatures: 'none' });
const trees = doc.forest.trees.map(prepareShapTree);
const explainer = new TreeShapExplainer(Math.max(...trees.map((t) => t.depth)));

/** Rows to explain: generated ones plus hand-picked extremes and values sitting exactly on thresholds. */
function probeRows(): Float64Array[] {
  const rows: Float64Array[] = [];
  for (let r = 0; r < 60; r++) rows.push(Float64Array.from(data.raw.subarray(r * 5, r * 5 + 5)));
  rows.push(Float64Array.of(0, 0, 0, 0, 0), Float64Array.of(99999, 23, 6, 12, 7), Float64Array.of(4800, 3, 6, 9, 2));
  const t = doc.forest.trees[0];
  const onThreshold = Float64Array.of(50, 12, 3, 4, 1);
  if (t.feature[0] === 0) onThreshold[0] = t.threshold[0];
  rows.push(onThreshold);
  return rows.map((raw) => {
    const x = new Float64Array(5);
    transformRows(doc.features, raw, x, 1);
    return x;
  });
}

describe('exact path-dependent TreeSHAP', () => {
  it('equals brute force over all 2^5 feature coalitions with the same value function, tree by tree', () => {
    for (const x of probeRows()) {
      for (const tree of trees) {
        const fast = new Float64Array(5);
        explainer.explain(tree, x, 0, fast, 1);
        const slow = bruteForceShap(tree, x, 0, 5);
        for (let j = 0; j < 5; j++) expect(Math.abs(fast[j] - slow[j])).toBeLessThan(1e-9);
      }
    }
  });

  it('is locally accurate: the values add up to output minus expected output', () => {
    const model = new IsolationForestModel(doc);
    for (let r = 0; r < 200; r++) {
      const e = model.explain(data.raw, r * 5);
      const sum = Object.values(e.shap).reduce((a, b) => a + b, 0);
      expect(Math.abs(sum - (e.output - e.base))).toBeLessThan(1e-9);
    }
  });

  it('reports the expected output as the cover-weighted mean path length (negated)', () => {
    const model = new IsolationForestModel(doc);
    const base = trees.reduce((s, t) => s + expectedValue(t), 0) / trees.length;
    expect(model.explain(data.raw, 0).base).toBeCloseTo(base, 12);
    expect(base).toBeLessThan(0);
  });

  it('points at the feature that makes a transaction odd (positive = toward anomaly)', () => {
    const model = new IsolationForestModel(trainModel(data.raw, data.rows, { seed: 1 }));
    const big = model.explain(Float64Array.of(4900, 11, 2, 1, 0));
    expect(Object.entries(big.shap).sort((a, b) => b[1] - a[1])[0][0]).toBe('amount');
    expect(big.riskFactors[0].feature).toBe('amount');
    expect(big.riskFactors[0].description).toMatch(/^amount 4,900\.00 is higher than 9\d\.\d% of training data$/);
    const night = model.explain(Float64Array.of(20, 4, 2, 1, 0));
    expect(Object.entries(night.shap).sort((a, b) => b[1] - a[1])[0][0]).toBe('hour');
    expect(night.riskFactors[0].description).toMatch(/^hour 4 occurs in only/);
  });
});

describe('tabulated exact Shapley values (the batch path)', () => {
  it('equals brute force and TreeSHAP for every row probed', async () => {
    const { ShapTable } = await import('../../src/model/shap-table.js');
    const table = new ShapTable(trees);
    for (const x of probeRows()) {
      const fast = new Float64Array(5);
      table.explain(x, 0, fast, 1);
      const slow = new Float64Array(5);
      for (const tree of trees) {
        const b = bruteForceShap(tree, x, 0, 5);
        for (let j = 0; j < 5; j++) slow[j] += b[j];
      }
      for (let j = 0; j < 5; j++) expect(Math.abs(fast[j] - slow[j])).toBeLessThan(1e-9);
    }
  });

  it('gives the model the same explanations once switched to it', () => {
    const a = new IsolationForestModel(doc);
    const b = new IsolationForestModel(doc);
    b.prepareBatchExplanations();
    for (let r = 0; r < 100; r++) {
      const ea = a.explain(data.raw, r * 5);
      const eb = b.explain(data.raw, r * 5);
      for (const f of Object.keys(ea.shap) as (keyof typeof ea.shap)[])
        expect(Math.abs(ea.shap[f] - eb.shap[f])).toBeLessThan(1e-9);
      expect(eb.base).toBe(ea.base);
    }
  });
});
