import { describe, expect, it } from 'vitest';
import { averagePrecision, evaluateScores, rocAuc } from './helpers.js';

describe('metrics', () => {
  it('ROC-AUC and average precision match scikit-learn on its documented example', () => {
    // sklearn.metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    // sklearn.metrics.average_precision_score(same) == 0.8333...
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    expect(averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.8333333333, 9);
  });

  it('counts ties as half in ROC-AUC and as one threshold in average precision', () => {
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
    expect(averagePrecision([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
    expect(rocAuc([1, 2], [1, 1])).toBeNaN();
  });

  it('gives the confusion counts, precision, recall and F1 at the threshold', () => {
    const m = evaluateScores([0.9, 0.8, 0.3, 0.2, 0.7], [1, 0, 1, 0, 1], 0.6);
    expect(m).toMatchObject({ tp: 2, fp: 1, fn: 1, tn: 1, rows: 5, threshold: 0.6 });
    expect(m.precision).toBeCloseTo(2 / 3, 12);
    expect(m.recall).toBeCloseTo(2 / 3, 12);
    expect(m.f1).toBeCloseTo(2 / 3, 12);
  });
});
