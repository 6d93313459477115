import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  binOf,
  cdfAt,
  DriftCounter,
  featureBins,
  psi,
  psiBand,
  quantileBins,
  referenceBins,
} from '../../src/model/drift.js';
import { FEATURE_COUNT } from '../../src/model/features.js';
import { parseModel } from '../../src/model/model-file.js';
import { IsolationForestModel } from '../../src/model/model.js';
import { quantileTable } from '../../src/model/quantiles.js';
import { createRandom } from '../../src/model/random.js';
import { generateTransactions } from '../../src/model/synthetic.js';

const doc = parseModel(readFileSync(new URL('../../src/model/default-model.json', import.meta.url), 'utf8'));
const model = new IsolationForestModel(doc);

/** Traffic drawn like the bundled model's training data (another seed), or changed by `edit`, with its report. */
function reportOf(rows: number, seed: number, edit?: (raw: Float64Array, rows: number) => void) {
  const data = generateTransactions(rows, 0.05, createRandom(seed));
  edit?.(data.raw, data.rows);
  const scores = new Float64Array(data.rows);
  model.scoreRows(data.raw, data.rows, scores);
  const counter = new DriftCounter(referenceBins(doc));
  counter.add(data.raw, scores, data.rows);
  return counter.report();
}

describe('population stability index', () => {
  it('matches a hand computation', () => {
    // (0.25 - 0.5) ln(0.25/0.5) + (0.75 - 0.5) ln(0.75/0.5) = 0.25 ln 2 + 0.25 ln 1.5
    expect(psi([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.25 * Math.log(2) + 0.25 * Math.log(1.5), 12);
    expect(psi([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.274653, 6);
    // An empty bin counts as epsilon 1e-4: (1e-4 - 0.5) ln(1e-4/0.5) + (1 - 0.5) ln(1/0.5)
    expect(psi([0.5, 0.5], [0, 1])).toBeCloseTo(-0.4999 * Math.log(1e-4 / 0.5) + 0.5 * Math.log(2), 12);
    expect(psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5])).toBe(0);
  });

  it('bands: < 0.1 stable, 0.1 to 0.25 watch, >= 0.25 drifted', () => {
    expect([0, 0.0999, 0.1, 0.2499, 0.25, 3].map(psiBand)).toEqual([
      'stable',
      'stable',
      'watch',
      'watch',
      'drifted',
      'drifted',
    ]);
  });

  it('a nominal feature gets one bin per training value and one for unseen values; known PSI by hand', () => {
    const bins = featureBins({ name: 'transaction_type', quantiles: [], counts: { '0': 50, '1': 30, '2': 20 } });
    expect(bins).toMatchObject({ kind: 'values', edges: [0, 1, 2], expected: [0.5, 0.3, 0.2, 0] });
    expect(bins.labels).toEqual(['0', '1', '2', 'unseen']);
    expect([0, 1, 2, 7].map((x) => binOf(bins, x))).toEqual([0, 1, 2, 3]);
    const counter = new DriftCounter([bins, bins, bins, bins, bins, bins]);
    // 40% / 40% / 20% against 50% / 30% / 20%: 0.1 ln(0.5/0.4) + 0.1 ln(0.4/0.3) = 0.051083
    const raw = new Float64Array(10 * FEATURE_COUNT);
    const types = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2];
    for (const [r, t] of types.entries()) raw.fill(t, r * FEATURE_COUNT, (r + 1) * FEATURE_COUNT);
    counter.add(raw, Float64Array.from(types), 10);
    const report = counter.report();
    expect(report.features[0].psi).toBeCloseTo(0.1 * Math.log(1.25) + 0.1 * Math.log(4 / 3), 12);
    expect(report.features[0].psi).toBeCloseTo(0.051083, 6);
    expect(report.features[0]).toMatchObject({ band: 'stable', drifted: false });
  });

  it('a value training never saw is drift, not noise', () => {
    const bins = featureBins({ name: 'merchant_category', quantiles: [], counts: { '0': 60, '1': 40 } });
    const counter = new DriftCounter(Array(6).fill(bins));
    counter.add(new Float64Array(FEATURE_COUNT).fill(5), [5], 1);
    const f = counter.report().features[0];
    expect(f.drifted).toBe(true);
    expect(f.largest_shift).toEqual({ bin: 'unseen', expected: 0, actual: 1 });
  });

  it('an integer feature with many values gets decile ranges with ties merged, weighted by the exact counts', () => {
    const counts = doc.training.features[1].counts!;
    const bins = featureBins({ name: 'hour', quantiles: [], counts });
    // The bundled model's hours: 17.5% up to 9:00, then single busy hours, 15-16, and the evening.
    expect(bins.kind).toBe('range');
    expect(bins.edges).toEqual([9, 10, 11, 12, 13, 14, 16]);
    expect(bins.labels).toEqual(['<= 9', '10', '11', '12', '13', '14', '15-16', '>= 17']);
    const total = Object.values(counts).reduce((s, c) => s + c, 0);
    let upTo9 = 0;
    for (let h = 0; h <= 9; h++) upTo9 += counts[String(h)] ?? 0;
    expect(bins.expected[0]).toBeCloseTo(upTo9 / total, 15);
    expect(bins.expected.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
    // Every hour lands somewhere, unseen ones included.
    expect([0, 3, 9, 10, 15, 16, 17, 23, 30].map((h) => binOf(bins, h))).toEqual([0, 0, 0, 1, 6, 6, 7, 7, 7]);
  });

  it('continuous values: 10 decile bins of 10% each; a point mass merges edges and keeps its weight', () => {
    const values = Float64Array.from({ length: 10_001 }, (_, i) => i);
    const even = quantileBins('x', quantileTable(values, 1001), false);
    expect(even.edges).toHaveLength(9);
    for (const share of even.expected) expect(share).toBeCloseTo(0.1, 12);
    // 40% of the rows at exactly 0: deciles 1..3 are all 0, one edge, whose bin holds the whole 40% (the 4th
    // decile interpolates between 0 and 4000, so it is an edge of its own, over a nearly empty bin).
    const massed = Float64Array.from({ length: 10_000 }, (_, i) => (i < 4000 ? 0 : i));
    const bins = quantileBins('x', quantileTable(massed, 1001), false);
    expect(bins.edges).toHaveLength(7);
    expect(bins.edges[0]).toBe(0);
    expect(bins.expected[0]).toBeCloseTo(0.4, 2);
    expect(bins.expected[1]).toBeLessThan(0.002);
    expect(bins.expected.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
    expect(cdfAt([0, 0, 0, 1, 2], 0)).toBe(0.5);
    expect(cdfAt([0, 0, 0, 1, 2], -1)).toBe(0);
    expect(cdfAt([0, 0, 0, 1, 2], 1.5)).toBe(0.875);
  });

  it('traffic like the training data is stable on every feature and the score', () => {
    const report = reportOf(20_000, 7);
    expect(report.rows).toBe(20_000);
    expect(report.features.map((f) => f.name)).toEqual([
      'amount',
      'hour',
      'day_of_week',
      'merchant_category',
      'transaction_type',
    ]);
    for (const f of [...report.features, report.score]) expect(f.psi).toBeLessThan(0.01);
    expect(report.drifted).toBe(false);
  });

  it('amounts x10 at 3 am drift amount, hour and the score', () => {
    const report = reportOf(5_000, 8, (raw, rows) => {
      for (let r = 0; r < rows; r++) {
        raw[r * FEATURE_COUNT] *= 10;
        raw[r * FEATURE_COUNT + 1] = 3;
      }
    });
    const byName = Object.fromEntries(report.features.map((f) => [f.name, f]));
    expect(byName.amount.drifted).toBe(true);
    expect(byName.hour).toMatchObject({ drifted: true, band: 'drifted' });
    expect(byName.hour.largest_shift.bin).toBe('<= 9');
    expect(byName.hour.largest_shift.actual).toBe(1);
    expect(byName.day_of_week.drifted).toBe(false);
    expect(report.score.drifted).toBe(true);
    expect(report.drifted).toBe(true);
  });

  it('refuses to report on no rows', () => {
    expect(() => new DriftCounter(referenceBins(doc)).report()).toThrow(/no rows/);
  });
});
