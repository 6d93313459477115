import { DAY_NAMES, FEATURES, TRANSACTION_TYPE_NAMES, type FeatureName } from './features.js';
import { formatGrouped } from './number-format.js';
import type { FeatureStats } from './model-file.js';
import { percentileRank } from './quantiles.js';

export type RiskLevel = 'normal' | 'elevated' | 'highest';

/**
 * risk_level bands, in training-distribution terms: `highest` is at or above the threshold; `elevated`
 * is the band just below it holding as much training data as the flagged band (e.g. the 80th to 90th
 * percentile for a 10% contamination threshold); `normal` is the rest.
 */
export function riskLevel(risk: number, thresholdRisk: number, isAnomaly: boolean): RiskLevel {
  if (isAnomaly) return 'highest';
  return risk >= 2 * thresholdRisk - 100 ? 'elevated' : 'normal';
}

/**
 * confidence in the verdict, 0..1: how far the score sits from the threshold, as a share of the way
 * from the threshold to the end of the training distribution on the verdict's side.
 */
export function confidence(risk: number, thresholdRisk: number, isAnomaly: boolean): number {
  const span = isAnomaly ? 100 - thresholdRisk : thresholdRisk;
  if (span <= 0) return 1;
  const c = isAnomaly ? (risk - thresholdRisk) / span : (thresholdRisk - risk) / span;
  return Math.min(1, Math.max(0, c));
}

/** The field whose Shapley value (phi[offset..offset + 4]) pushes hardest toward anomaly; '' when none does. */
export function topFactor(phi: ArrayLike<number>, offset: number): FeatureName | '' {
  let best = -1;
  for (let j = 0; j < FEATURES.length; j++) {
    const x = phi[offset + j];
    if (x > 0 && (best < 0 || x > phi[offset + best])) best = j;
  }
  return best < 0 ? '' : FEATURES[best];
}

export interface RiskFactor {
  feature: FeatureName;
  value: number;
  /** The feature's Shapley value (positive: toward anomaly). */
  contribution: number;
  description: string;
}

/** The features that push toward anomaly, strongest first, with a sentence each. */
export function riskFactors(
  raw: ArrayLike<number>,
  offset: number,
  phi: ArrayLike<number>,
  stats: readonly FeatureStats[],
  trainingRows: number,
  limit = 3,
): RiskFactor[] {
  return topFeatures(phi, 0, limit).map((j) => ({
    feature: FEATURES[j],
    value: raw[offset + j],
    contribution: phi[j],
    description: describeValue(FEATURES[j], raw[offset + j], stats[j], trainingRows),
  }));
}

/**
 * The fields whose Shapley values (phi[offset..offset + 4]) are positive, largest first (ties: field order), at most
 * `limit`: the risk factors' order. A selection, not a sort of an array of all five: it runs for every explained row.
 * topFactor is its first field, picked without the array (the CSV top_factor cell of every row).
 */
export function topFeatures(phi: ArrayLike<number>, offset: number, limit = 3): number[] {
  const top: number[] = [];
  for (let j = 0; j < FEATURES.length; j++) {
    const x = phi[offset + j];
    if (!(x > 0)) continue;
    let k = top.length;
    while (k > 0 && phi[offset + top[k - 1]] < x) k--; // equal values keep field order
    if (k < limit) {
      top.splice(k, 0, j);
      if (top.length > limit) top.pop();
    }
  }
  return top;
}

function pct(p: number): string {
  return `${(Math.floor(p * 10) / 10).toFixed(1)}%`;
}

/**
 * Sentences of categorical values, by the field's statistics and the training rows they were counted over (the
 * sentence's share depends on both): the same few values recur in every file.
 */
const sentences = new WeakMap<FeatureStats, { rows: number; byValue: Map<number, string> }>();
/** Distinct values remembered per field (categorical codes; a caller may send any integer). */
const SENTENCES_KEPT = 1024;

export function describeValue(feature: FeatureName, value: number, stats: FeatureStats, rows: number): string {
  if (!stats.counts) return describeAmongQuantiles(feature, value, stats);
  let kept = sentences.get(stats);
  if (!kept) {
    kept = { rows, byValue: new Map() };
    sentences.set(stats, kept);
  }
  if (kept.rows !== rows) return describeAmongCounts(feature, value, stats, rows); // other rows: not remembered
  const known = kept.byValue;
  let sentence = known.get(value);
  if (sentence === undefined) {
    sentence = describeAmongCounts(feature, value, stats, rows);
    if (known.size < SENTENCES_KEPT) known.set(value, sentence);
  }
  return sentence;
}

function describeAmongCounts(feature: FeatureName, value: number, stats: FeatureStats, rows: number): string {
  const label = featureLabel(feature, value);
  const count = stats.counts?.[String(value)] ?? 0;
  if (count === 0) return `${label} never occurs in the training data`;
  const share = (100 * count) / rows;
  return `${label} occurs in ${share < 10 ? 'only ' : ''}${share < 0.1 ? '<0.1%' : pct(share)} of training transactions`;
}

function describeAmongQuantiles(feature: FeatureName, value: number, stats: FeatureStats): string {
  const label = featureLabel(feature, value);
  const rank = percentileRank(stats.quantiles, value);
  return rank >= 50
    ? `${label} is higher than ${pct(rank)} of training data`
    : `${label} is lower than ${pct(100 - rank)} of training data`;
}

function featureLabel(feature: FeatureName, value: number): string {
  switch (feature) {
    case 'amount':
      return `amount ${formatGrouped(value, 2)}`;
    case 'hour':
      return `hour ${value}`;
    case 'day_of_week':
      return `${DAY_NAMES[value] ?? `day ${value}`} (day_of_week ${value})`;
    case 'merchant_category':
      return `merchant category ${value}`;
    case 'transaction_type':
      return TRANSACTION_TYPE_NAMES[value]
        ? `${TRANSACTION_TYPE_NAMES[value]} (transaction_type ${value})`
        : `transaction type ${value}`;
  }
}
