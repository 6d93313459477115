/** The model's five features, in the order every array in the model uses. */
export const FEATURES = ['amount', 'hour', 'day_of_week', 'merchant_category', 'transaction_type'] as const;
export type FeatureName = (typeof FEATURES)[number];
export const FEATURE_COUNT = FEATURES.length;

/**
 * How a raw feature is fed to the forest. The forest splits uniformly between a node's min and max, so
 * the representation decides what it can isolate. `hours-since` turns the clock so that the day starts
 * at `origin` (default 06:00): the quiet night hours then sit together at one end of the axis instead of
 * at both ends, and one split separates them from the day (measured in the README: ROC-AUC 0.983 -> 0.993
 * on the reference data). `auto` starts it at the quietest training hour (chooseDayStartHour); on the
 * scenario suite that is level with 06:00 over seeds (README), so it is not the default. `log1p` is offered for amount,
 * fixed or chosen from the data (chooseAmountTransform); raw amounts isolate high-amount fraud better on the
 * reference data, so raw is the default. Recorded in the model file.
 */
export type FeatureTransform = 'none' | 'log1p' | 'hours-since';

export interface FeatureSpec {
  name: FeatureName;
  kind: 'number' | 'integer';
  transform: FeatureTransform;
  /** For `hours-since`: the hour mapped to 0. */
  origin?: number;
  /** Present when the representation was chosen from the training data (`auto`): the rule and its evidence. */
  chosen?: AmountChoice | HourChoice;
}

/**
 * `--amount-transform auto`: log1p when it makes the training amounts more symmetric, judged by the quantile
 * skewness (q99 + q01 - 2 q50) / (q99 - q01) (Hinkley's skewness at 1%; 0 for a symmetric distribution, toward 1
 * for a long right tail). The forest splits uniformly between a node's min and max, so a long tail leaves the
 * bulk of the rows squeezed into a sliver of the axis; the transform that centres the bulk gives every split a
 * fair share of it. Quantiles rather than moments, so the top (or bottom) 1% -- where anomalies live -- cannot
 * sway the choice. No tuned bound: the smaller |skewness| wins, ties keep the raw amount.
 */
export interface AmountChoice {
  rule: 'quantile-skewness';
  /** Quantile skewness of the raw amounts and of log1p(amount). */
  none: number;
  log1p: number;
}

/** `--day-start-hour auto`: the hour with the fewest training rows (ties: the earliest). */
export interface HourChoice {
  rule: 'quietest-hour';
  /** Training rows at that hour, of `of`. */
  rows: number;
  of: number;
}

/** Hinkley's quantile skewness at 1% of ascending `sorted` values; 0 when q99 = q01. */
export function quantileSkewness(sorted: Float64Array): number {
  const at = (p: number): number => {
    const x = p * (sorted.length - 1);
    const i = Math.floor(x);
    return i + 1 < sorted.length ? sorted[i] + (sorted[i + 1] - sorted[i]) * (x - i) : sorted[i];
  };
  const lo = at(0.01);
  const mid = at(0.5);
  const hi = at(0.99);
  return hi > lo ? (hi + lo - 2 * mid) / (hi - lo) : 0;
}

/** Chooses the amount transform from the training amounts (see AmountChoice). */
export function chooseAmountTransform(amounts: Float64Array): { transform: 'none' | 'log1p'; chosen: AmountChoice } {
  const raw = Float64Array.from(amounts).sort();
  const logged = raw.map(Math.log1p); // log1p is increasing: still sorted
  const none = round6(quantileSkewness(raw));
  const log1p = round6(quantileSkewness(logged));
  return {
    transform: Math.abs(log1p) < Math.abs(none) ? 'log1p' : 'none',
    chosen: { rule: 'quantile-skewness', none, log1p },
  };
}

/** Chooses the day-start hour from the training hours (0..23; see HourChoice). */
export function chooseDayStartHour(hours: Float64Array): { hour: number; chosen: HourChoice } {
  const counts = new Array<number>(24).fill(0);
  for (const h of hours) if (Number.isInteger(h) && h >= 0 && h <= 23) counts[h]++;
  let hour = 0;
  for (let h = 1; h < 24; h++) if (counts[h] < counts[hour]) hour = h;
  return { hour, chosen: { rule: 'quietest-hour', rows: counts[hour], of: hours.length } };
}

/** Six decimals: what the model file records, the same on every machine. */
function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

export const DAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
export const TRANSACTION_TYPE_NAMES = ['purchase', 'withdrawal', 'transfer'];

export function defaultFeatureSpecs(
  amountTransform: 'none' | 'log1p' = 'none',
  dayStartHour: number | null = 6,
): FeatureSpec[] {
  return [
    { name: 'amount', kind: 'number', transform: amountTransform },
    dayStartHour === null
      ? { name: 'hour', kind: 'integer', transform: 'none' }
      : { name: 'hour', kind: 'integer', transform: 'hours-since', origin: dayStartHour },
    { name: 'day_of_week', kind: 'integer', transform: 'none' },
    { name: 'merchant_category', kind: 'integer', transform: 'none' },
    { name: 'transaction_type', kind: 'integer', transform: 'none' },
  ];
}

/**
 * Applies the specs' transforms to `count` rows of raw features (row-major), into `out`, whose rows are `stride`
 * values apart (the five features first; a model with conditional features puts those after them).
 */
export function transformRows(
  specs: readonly FeatureSpec[],
  raw: Float64Array,
  out: Float64Array,
  count: number,
  stride = specs.length,
): void {
  const m = specs.length;
  if (stride === m) {
    const end = count * m;
    for (let j = 0; j < m; j++) {
      const spec = specs[j];
      if (spec.transform === 'log1p') for (let i = j; i < end; i += m) out[i] = Math.log1p(raw[i]);
      else if (spec.transform === 'hours-since') {
        const shift = 24 - (spec.origin ?? 0);
        for (let i = j; i < end; i += m) out[i] = (raw[i] + shift) % 24;
      } else for (let i = j; i < end; i += m) out[i] = raw[i];
    }
    return;
  }
  for (let j = 0; j < m; j++) {
    const spec = specs[j];
    if (spec.transform === 'log1p') for (let i = 0; i < count; i++) out[i * stride + j] = Math.log1p(raw[i * m + j]);
    else if (spec.transform === 'hours-since') {
      const shift = 24 - (spec.origin ?? 0);
      for (let i = 0; i < count; i++) out[i * stride + j] = (raw[i * m + j] + shift) % 24;
    } else for (let i = 0; i < count; i++) out[i * stride + j] = raw[i * m + j];
  }
}

/** Whether transformed values stay integers, so a split between two of them can sit at k + 0.5. */
export function keepsIntegers(spec: Pick<FeatureSpec, 'kind' | 'transform'>): boolean {
  return spec.kind === 'integer' && spec.transform !== 'log1p';
}
