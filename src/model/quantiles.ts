/** Quantile k/(points-1) of `sorted`, k = 0..points-1, with linear interpolation (numpy's default). */
export function quantileTable(sorted: ArrayLike<number>, points: number): number[] {
  const n = sorted.length;
  const out: number[] = [];
  for (let k = 0; k < points; k++) out.push(quantile(sorted, k / (points - 1)));
  if (n === 0) throw new RangeError('cannot take quantiles of no data');
  return out;
}

/** The q-quantile (0..1) of `sorted`, linear interpolation between closest ranks (numpy's default). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const frac = pos - lo;
  return frac === 0 ? sorted[lo] : sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

/**
 * Percentage (0..100) of the distribution described by `table` (evenly spaced quantiles) that lies
 * below `value`: the inverse of the piecewise-linear quantile function.
 */
export function percentileRank(table: readonly number[], value: number): number {
  const last = table.length - 1;
  if (!(value > table[0])) return 0;
  if (value >= table[last]) return 100;
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (table[mid] <= value) lo = mid;
    else hi = mid;
  }
  const span = table[hi] - table[lo];
  const frac = span > 0 ? (value - table[lo]) / span : 0;
  return (100 * (lo + frac)) / last;
}
