import { FEATURE_COUNT, FEATURES } from './features.js';
import type { FeatureStats, ModelDocument } from './model-file.js';

/**
 * Population stability index (PSI) of observed traffic against the model's training distribution, per feature
 * and for the anomaly score: PSI = sum over bins of (actual - expected) * ln(actual / expected), bin shares on both
 * sides. The usual bands: below 0.1 stable, 0.1 to 0.25 watch, 0.25 and above drifted.
 *
 * Bins come from what the model file keeps of its training data (nothing else is needed):
 * - a feature without value counts (amount) and the score: 10 bins cut at the training deciles, read from the
 *   1,001 stored quantiles; equal deciles (a value held by over a tenth of the rows) are merged into one edge, and
 *   each bin's expected share is read off the quantile table's distribution function rather than assumed to be
 *   0.1, so merged bins carry their true weight.
 * - an integer feature whose counts the model keeps, with at most 10 distinct training values (day_of_week,
 *   merchant_category, transaction_type): one bin per value, expected shares from the exact counts, plus a bin
 *   for values training never saw (expected 0: any traffic there is drift). These codes are nominal, so grouping
 *   neighbouring codes (what tied deciles would do) would hide a shift from one code to the next.
 * - an integer feature with more distinct values (hour): decile ranges of values, cut after the value at which
 *   the exact cumulative share first reaches each tenth (deciles with ties merged), expected shares from the
 *   counts. A value takes the range that covers it, so values between or beyond training's fall somewhere.
 *   Deciles keep every bin populated; the price is that the quiet night hours share one bin with the early
 *   morning, so a move of some traffic from 9:00 to 3:00 shows less than a move of all of it.
 * Empty bins (either side) count as PSI_EPSILON, so that PSI stays finite; with few rows PSI is biased upward
 * (about (bins - 1) / rows with no drift at all), which callers should say (see noisyBelow).
 */
export type DriftBand = 'stable' | 'watch' | 'drifted';

export const PSI_WATCH = 0.1;
export const PSI_DRIFTED = 0.25;
export const PSI_EPSILON = 1e-4;
const DECILES = 10;

/** The score's bins are named like the result field. */
export const SCORE_NAME = 'anomaly_score';

export interface DriftBins {
  name: string;
  /**
   * 'range': bin i holds edges[i-1] < x <= edges[i]; the first bin everything up to edges[0], the last
   * everything above the last edge. 'values': bin i holds x === edges[i]; the last bin any other value.
   */
  kind: 'range' | 'values';
  edges: number[];
  /** Training share of each bin (edges.length + 1 of them), summing to 1. */
  expected: number[];
  /** A short name per bin, for people: "<= 9", "15-16", "3", "unseen". */
  labels: string[];
  /** Integer-valued (range labels then name whole values). */
  integer: boolean;
}

export interface DriftFigure {
  psi: number;
  band: DriftBand;
  drifted: boolean;
  /**
   * The bin whose share changed most (absolute difference): where the traffic moved to or from. Not the largest
   * PSI term, which is often a bin the traffic left (an emptied bin counts as epsilon, a large logarithm).
   */
  largest_shift: { bin: string; expected: number; actual: number };
}

export interface DriftReport {
  rows: number;
  features: (DriftFigure & { name: string })[];
  score: DriftFigure;
  drifted: boolean;
}

export function psiBand(psi: number): DriftBand {
  return psi >= PSI_DRIFTED ? 'drifted' : psi >= PSI_WATCH ? 'watch' : 'stable';
}

/** PSI of two share vectors of the same bins; shares below epsilon count as epsilon. */
export function psi(expected: ArrayLike<number>, actual: ArrayLike<number>, epsilon = PSI_EPSILON): number {
  let sum = 0;
  for (let i = 0; i < expected.length; i++) sum += contribution(expected[i], actual[i], epsilon);
  return sum;
}

function contribution(expected: number, actual: number, epsilon = PSI_EPSILON): number {
  const e = Math.max(expected, epsilon);
  const a = Math.max(actual, epsilon);
  return (a - e) * Math.log(a / e);
}

/** Rows below which PSI mostly measures sampling noise: there (bins - 1) / rows, its mean without drift, >= 0.05. */
export function noisyBelow(bins: readonly DriftBins[]): number {
  const most = Math.max(...bins.map((b) => b.expected.length));
  return Math.ceil((most - 1) / 0.05);
}

/** The bins of the five features (FEATURES order) and then of the anomaly score, from the model document. */
export function referenceBins(doc: ModelDocument): DriftBins[] {
  const byName = new Map(doc.training.features.map((f) => [f.name, f]));
  const out = FEATURES.map((name) => {
    const stats = byName.get(name);
    if (!stats) throw new RangeError(`the model keeps no training distribution for ${name}`);
    return featureBins(stats);
  });
  out.push(quantileBins(SCORE_NAME, doc.training.scoreQuantiles, false));
  return out;
}

export function featureBins(stats: FeatureStats): DriftBins {
  if (!stats.counts) return quantileBins(stats.name, stats.quantiles, false);
  const entries = Object.entries(stats.counts)
    .map(([v, c]) => [Number(v), c] as const)
    .sort((x, y) => x[0] - y[0]);
  const total = entries.reduce((s, [, c]) => s + c, 0);
  if (entries.length <= DECILES) {
    const edges = entries.map(([v]) => v);
    return {
      name: stats.name,
      kind: 'values',
      edges,
      expected: [...entries.map(([, c]) => c / total), 0],
      labels: [...edges.map(String), 'unseen'],
      integer: true,
    };
  }
  // Cut after a value once the cumulative count reaches the next tenth (integer arithmetic: no rounding doubts).
  const edges: number[] = [];
  const expected: number[] = [];
  let cumulative = 0;
  let inBin = 0;
  let next = 1;
  entries.forEach(([v, c], i) => {
    cumulative += c;
    inBin += c;
    if (cumulative * DECILES < next * total || i === entries.length - 1) return;
    while (next < DECILES && cumulative * DECILES >= next * total) next++;
    edges.push(v);
    expected.push(inBin / total);
    inBin = 0;
  });
  expected.push(inBin / total);
  return { name: stats.name, kind: 'range', edges, expected, labels: rangeLabels(edges, true), integer: true };
}

/** Decile bins from a table of evenly spaced quantiles (continuous values). */
export function quantileBins(name: string, table: readonly number[], integer: boolean): DriftBins {
  const last = table.length - 1;
  const edges: number[] = [];
  for (let k = 1; k < DECILES; k++) {
    const q = table[Math.round((k * last) / DECILES)];
    if (edges.length === 0 || q > edges[edges.length - 1]) edges.push(q);
  }
  const cdf = edges.map((e) => cdfAt(table, e));
  const expected = [...cdf, 1].map((f, i) => f - (i === 0 ? 0 : cdf[i - 1]));
  return { name, kind: 'range', edges, expected, labels: rangeLabels(edges, integer), integer };
}

/**
 * P(X <= x) under the piecewise-linear quantile function the table describes: at a run of equal quantiles, the
 * top of the run (the whole point mass is at or below x).
 */
export function cdfAt(table: readonly number[], x: number): number {
  const last = table.length - 1;
  if (x < table[0]) return 0;
  if (x >= table[last]) return 1;
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (table[mid] <= x) lo = mid;
    else hi = mid;
  }
  const span = table[hi] - table[lo];
  return (lo + (span > 0 ? (x - table[lo]) / span : 0)) / last;
}

function rangeLabels(edges: readonly number[], integer: boolean): string[] {
  const show = (x: number) => (integer ? String(x) : String(Number(x.toPrecision(4))));
  if (edges.length === 0) return ['all'];
  return [...edges, Number.POSITIVE_INFINITY].map((e, i) => {
    if (i === 0) return `<= ${show(e)}`;
    const below = edges[i - 1];
    if (i === edges.length) return integer ? `>= ${below + 1}` : `> ${show(below)}`;
    if (!integer) return `${show(below)}-${show(e)}`;
    return below + 1 === e ? show(e) : `${below + 1}-${e}`;
  });
}

/** Which bin holds x. */
export function binOf(bins: DriftBins, x: number): number {
  const { edges } = bins;
  if (bins.kind === 'values') {
    const i = edges.indexOf(x);
    return i < 0 ? edges.length : i;
  }
  let lo = 0;
  let hi = edges.length; // first edge >= x, i.e. the number of edges below x
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Counts observed rows into the reference bins, chunk by chunk: memory does not grow with the traffic.
 * `bins` are referenceBins' (five features, then the score). The score column keeps its own total: stored traffic
 * may hold scores of other models, which are left out of it.
 */
export class DriftCounter {
  rows = 0;
  private readonly counts: Float64Array[];
  private readonly totals: Float64Array;

  constructor(readonly bins: readonly DriftBins[]) {
    this.counts = bins.map((b) => new Float64Array(b.expected.length));
    this.totals = new Float64Array(bins.length);
  }

  /**
   * `features`: raw rows, FEATURES order, row-major; `scores`: their anomaly scores, counted only where
   * `scoreMask` is 1 when one is given (the rows the model itself scored).
   */
  add(features: ArrayLike<number>, scores: ArrayLike<number>, count: number, scoreMask?: ArrayLike<number>): void {
    const scoreBins = this.bins[FEATURE_COUNT];
    for (let r = 0; r < count; r++) {
      for (let j = 0; j < FEATURE_COUNT; j++) this.counts[j][binOf(this.bins[j], features[r * FEATURE_COUNT + j])]++;
      if (scoreMask && scoreMask[r] !== 1) continue;
      this.counts[FEATURE_COUNT][binOf(scoreBins, scores[r])]++;
      this.totals[FEATURE_COUNT]++;
    }
    for (let j = 0; j < FEATURE_COUNT; j++) this.totals[j] += count;
    this.rows += count;
  }

  /** Rows counted in a column. */
  total(column: number): number {
    return this.totals[column];
  }

  /** A column's figure; null when nothing was counted in it. */
  figure(column: number): DriftFigure | null {
    const total = this.totals[column];
    return total > 0 ? figure(this.bins[column], this.counts[column], total) : null;
  }

  report(): DriftReport {
    if (this.rows === 0 || this.totals[FEATURE_COUNT] === 0) throw new RangeError('no rows to compare');
    const figures = this.bins.map((_, j) => this.figure(j)!);
    const features = figures.slice(0, FEATURE_COUNT).map((f, j) => ({ name: this.bins[j].name, ...f }));
    const score = figures[FEATURE_COUNT];
    return { rows: this.rows, features, score, drifted: figures.some((f) => f.drifted) };
  }
}

function figure(bins: DriftBins, counts: Float64Array, rows: number): DriftFigure {
  const actual = Array.from(counts, (c) => c / rows);
  const value = psi(bins.expected, actual);
  let top = 0;
  for (let i = 1; i < actual.length; i++) {
    if (Math.abs(actual[i] - bins.expected[i]) > Math.abs(actual[top] - bins.expected[top])) top = i;
  }
  return {
    psi: value,
    band: psiBand(value),
    drifted: value >= PSI_DRIFTED,
    largest_shift: { bin: bins.labels[top], expected: bins.expected[top], actual: actual[top] },
  };
}
