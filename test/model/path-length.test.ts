import { describe, expect, it } from 'vitest';
import { anomalyScoreFromDepth, averagePathLength } from '../../src/model/path-length.js';

describe('c(n), the average path length (scikit-learn conventions)', () => {
  it('is 0 for n <= 1 and 1 for n = 2', () => {
    expect(averagePathLength(0)).toBe(0);
    expect(averagePathLength(1)).toBe(0);
    expect(averagePathLength(2)).toBe(1);
  });

  it('matches scikit-learn _average_path_length for larger n', () => {
    // scikit-learn's formula evaluated in Python (float64):
    // 2 * (log(n - 1) + euler_gamma) - 2 * (n - 1) / n
    expect(averagePathLength(3)).toBeCloseTo(1.207392357589623, 14);
    expect(averagePathLength(10)).toBeCloseTo(3.748880484475505, 14);
    expect(averagePathLength(256)).toBeCloseTo(10.244770920119917, 14);
    expect(averagePathLength(1000)).toBeCloseTo(12.969940887100174, 13);
  });

  it('gives s = 0.5 when the mean depth equals c(psi), and 1 at depth 0', () => {
    expect(anomalyScoreFromDepth(averagePathLength(256), averagePathLength(256))).toBe(0.5);
    expect(anomalyScoreFromDepth(0, 10)).toBe(1);
  });
});
