/** Euler-Mascheroni constant, as scikit-learn uses it. */
const EULER_GAMMA = 0.5772156649015329;

/**
 * c(n): the average path length of an unsuccessful search in a binary search tree of n points
 * (Liu et al. 2008), with scikit-learn's conventions: c(0) = c(1) = 0, c(2) = 1,
 * c(n) = 2 (ln(n - 1) + gamma) - 2 (n - 1) / n otherwise.
 */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}

/** Liu et al.'s anomaly score s = 2^(-E[h(x)] / c(psi)). */
export function anomalyScoreFromDepth(meanDepth: number, normaliser: number): number {
  return Math.pow(2, -meanDepth / normaliser);
}
