import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  checkModel,
  createRandom,
  generateTransactions,
  IsolationForestModel,
  parseModel,
  serializeModel,
  trainDefaultModel,
  trainModel,
  averagePathLength,
  ModelFormatError,
  type CompactTreeLike,
} from './helpers.js';
import { quantile } from '../../src/model/quantiles.js';

const data = generateTransactions(3000, 0.05, createRandom(11));

/** Path length of one row through a compact (pre-order) tree, walked the obvious way. */
function walk(tree: CompactTreeLike, x: Float64Array): number {
  let i = 0;
  let depth = 0;
  const skip = (j: number): number => (tree.feature[j] < 0 ? j + 1 : skip(skip(j + 1)));
  while (tree.feature[i] >= 0) {
    i = x[tree.feature[i]] >= tree.threshold[i] ? skip(i + 1) : i + 1;
    depth++;
  }
  return depth + averagePathLength(tree.size[i]);
}

describe('isolation forest training', () => {
  it('is deterministic: same seed and data give byte-identical model files', () => {
    const a = serializeModel(trainModel(data.raw, data.rows, { seed: 7 }));
    const b = serializeModel(trainModel(data.raw, data.rows, { seed: 7 }));
    expect(a).toBe(b);
    const c = serializeModel(trainModel(data.raw, data.rows, { seed: 8 }));
    expect(c).not.toBe(a);
  });

  it('uses scikit-learn defaults: 100 trees, min(256, n) samples, height limit ceil(log2(psi))', () => {
    const doc = trainModel(data.raw, data.rows);
    expect(doc.forest.trees).toHaveLength(100);
    expect(doc.forest.sampleSize).toBe(256);
    expect(doc.forest.heightLimit).toBe(8);
    expect(doc.forest.normaliser).toBe(averagePathLength(256));
    for (const tree of doc.forest.trees) expect(tree.size[0]).toBe(256);
    const small = trainModel(data.raw.subarray(0, 100 * 5), 100);
    expect(small.forest.sampleSize).toBe(100);
    expect(small.forest.heightLimit).toBe(7);
  });

  it('sets the threshold at the (1 - contamination) percentile of training scores, numpy-style', () => {
    const doc = trainModel(data.raw, data.rows, { contamination: 0.1 });
    const model = new IsolationForestModel(doc);
    const scores = new Float64Array(data.rows);
    model.scoreRows(data.raw, data.rows, scores);
    const sorted = Float64Array.from(scores).sort();
    expect(doc.threshold).toBe(quantile(sorted, 0.9));
    // numpy linear interpolation by hand: position 0.9 * (n - 1).
    const pos = 0.9 * (data.rows - 1);
    const lo = Math.floor(pos);
    expect(doc.threshold).toBeCloseTo(sorted[lo] + (pos - lo) * (sorted[lo + 1] - sorted[lo]), 15);
    const flagged = scores.filter((s) => s >= doc.threshold).length;
    expect(flagged / data.rows).toBeCloseTo(0.1, 2);
    expect(trainModel(data.raw, data.rows, { contamination: 'auto' }).threshold).toBe(0.5);
    expect(trainModel(data.raw, data.rows, { threshold: 0.61 }).threshold).toBe(0.61);
  });

  it('scores with the dense branch-free layout exactly as walking the trees does (any height)', () => {
    // 256: the usual height 8; 2 and 3: trees of one and two levels (the kernel reads the root before descending).
    for (const sampleSize of [256, 2, 3]) {
      const doc = trainModel(data.raw, data.rows, { seed: 3, conditionalFeatures: 'none', sampleSize });
      const model = new IsolationForestModel(doc);
      const scores = new Float64Array(500);
      model.scoreRows(data.raw, 500, scores);
      for (let r = 0; r < 500; r++) {
        const x = Float64Array.from(data.raw.subarray(r * 5, r * 5 + 5));
        x[1] = (x[1] + 24 - (doc.features[1].origin ?? 0)) % 24; // the hours-since transform (origin: auto)
        let sum = 0;
        for (const tree of doc.forest.trees) sum += walk(tree, x);
        expect(scores[r]).toBe(Math.pow(2, -(sum / doc.forest.trees.length) / doc.forest.normaliser));
      }
    }
  });

  it('gives anomalies higher scores than normal traffic', () => {
    const model = new IsolationForestModel(trainModel(data.raw, data.rows));
    const scores = new Float64Array(data.rows);
    model.scoreRows(data.raw, data.rows, scores);
    const mean = (flag: number) => {
      let s = 0,
        n = 0;
      for (let i = 0; i < data.rows; i++)
        if (data.labels[i] === flag) {
          s += scores[i];
          n++;
        }
      return s / n;
    };
    expect(mean(1)).toBeGreaterThan(mean(0) + 0.1);
  });

  it('refuses bad options with an error naming the option', () => {
    expect(() => trainModel(data.raw, data.rows, { trees: 0 })).toThrow(/trees/);
    expect(() => trainModel(data.raw, data.rows, { contamination: 0.7 })).toThrow(/contamination/);
    expect(() => trainModel(data.raw, 1)).toThrow(/at least 2 rows/);
  });
});

describe('model file', () => {
  const doc = trainModel(data.raw, data.rows, { seed: 5, conditionalFeatures: 'none' });
  const text = serializeModel(doc);

  it('round-trips through the checked loader to the same document and scores', () => {
    const loaded = parseModel(text);
    expect(serializeModel(loaded)).toBe(text);
    const a = new Float64Array(100);
    const b = new Float64Array(100);
    new IsolationForestModel(doc).scoreRows(data.raw, 100, a);
    new IsolationForestModel(loaded).scoreRows(data.raw, 100, b);
    expect(b).toEqual(a);
  });

  it('checks the hash from the text of a canonical file, and by re-serialising any other layout', () => {
    expect(parseModel(JSON.stringify(JSON.parse(text), null, 2)).id).toBe(doc.id);
    const tampered = text.replace(`"threshold":${doc.threshold}`, '"threshold":0.5');
    expect(tampered).not.toBe(text);
    expect(() => parseModel(tampered)).toThrow(/content hash mismatch/);
    expect(() => parseModel(JSON.stringify(JSON.parse(tampered), null, 1))).toThrow(/content hash mismatch/);
  });

  it('has a content hash as its id', () => {
    expect(doc.id).toMatch(/^[0-9a-f]{16}$/);
    expect(trainModel(data.raw, data.rows, { seed: 6 }).id).not.toBe(doc.id);
  });

  it('rejects other formats, versions, damaged content and non-JSON with clear errors', () => {
    const obj = JSON.parse(text);
    expect(() => parseModel('{oops')).toThrow(ModelFormatError);
    expect(() => checkModel({ ...obj, format: 'sklearn' })).toThrow(/format is "sklearn"/);
    expect(() => checkModel({ ...obj, formatVersion: 3 })).toThrow(/version 3 is not supported/);
    // Version 2 is a model with conditional features (test/model/conditional.test.ts): this one has none.
    expect(() => checkModel({ ...obj, formatVersion: 2 })).toThrow(/conditional must be a non-empty list/);
    const damaged = JSON.parse(text);
    damaged.forest.trees[0].threshold[0] += 1;
    expect(() => checkModel(damaged)).toThrow(/content hash mismatch/);
    expect(() => checkModel([])).toThrow(/JSON object/);
  });

  it('the bundled default model regenerates byte for byte from its recipe', () => {
    const committed = readFileSync(new URL('../../src/model/default-model.json', import.meta.url), 'utf8');
    expect(serializeModel(trainDefaultModel())).toBe(committed);
  });
});
