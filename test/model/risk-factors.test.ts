/**
 * The risk factors' order (topFeatures, a selection run for every explained row) and their sentences (describeValue,
 * which remembers categorical ones): the same as sorting all five and describing each value afresh.
 */
import { describe, expect, it } from 'vitest';
import { describeValue, topFactor, topFeatures } from '../../src/model/explain.js';
import { FEATURES } from '../../src/model/features.js';
import { loadModel } from '../../src/core/model-source.js';

describe('risk factors', () => {
  it('orders the positive Shapley values largest first, ties in field order, at most the limit', () => {
    const values = [0, 0.5, -0.5, 1, 1e-9, 2, 0.5];
    let checked = 0;
    // Every assignment of those values to the five fields (7^5), in lists shifted by an offset.
    for (let code = 0; code < 7 ** 5; code++) {
      const phi = [9, 9];
      for (let j = 0, c = code; j < 5; j++, c = Math.floor(c / 7)) phi.push(values[c % 7]);
      for (const limit of [1, 3, 5]) {
        const sorted = [0, 1, 2, 3, 4]
          .filter((j) => phi[2 + j] > 0)
          .sort((a, b) => phi[2 + b] - phi[2 + a] || a - b)
          .slice(0, limit);
        expect(topFeatures(phi, 2, limit)).toEqual(sorted);
        checked++;
      }
      // The CSV's top_factor cell: the same first field.
      const first = topFeatures(phi, 2, 1)[0];
      expect(topFactor(phi, 2)).toBe(first === undefined ? '' : FEATURES[first]);
    }
    expect(checked).toBe(3 * 7 ** 5);
  });

  it('describes a categorical value the same the second time, and as a fresh copy of the statistics would', () => {
    const { model } = loadModel();
    const { features: stats, rows } = model.doc.training;
    FEATURES.forEach((feature, j) => {
      for (const value of [0, 1, 3, 6, 23, 99, -4, 2.5]) {
        const first = describeValue(feature, value, stats[j], rows);
        expect(describeValue(feature, value, stats[j], rows)).toBe(first);
        expect(describeValue(feature, value, structuredClone(stats[j]), rows)).toBe(first);
        // The share depends on the rows counted over: the same statistics over other rows say so.
        expect(describeValue(feature, value, stats[j], rows * 4)).toBe(
          describeValue(feature, value, structuredClone(stats[j]), rows * 4),
        );
      }
    });
    const category = FEATURES.indexOf('merchant_category');
    expect(describeValue('merchant_category', 3, stats[category], rows * 4)).not.toBe(
      describeValue('merchant_category', 3, stats[category], rows),
    );
  });
});
