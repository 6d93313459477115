/** The model's five features, in the order every array in the model uses. */
export const FEATURES = ['amount', 'hour', 'day_of_week', 'merchant_category', 'transaction_type'] as const;
export type FeatureName = (typeof FEATURES)[number];
export const FEATURE_COUNT = FEATURES.length;

/**
 * How a raw feature is fed to the forest. The forest splits uniformly between a node's min and max, so
 * the representation decides what it can isolate. `hours-since` turns the clock so that the day starts
 * at `origin` (default 06:00): the quiet night hours then sit together at one end of the axis instead of
 * at both ends, and one split separates them from the day (measured in the README: ROC-AUC 0.983 -> 0.993
 * on the reference data). `log1p` is offered for amount; raw amounts isolate high-amount fraud better on
 * the reference data, so it is not the default. Recorded in the model file.
 */
export type FeatureTransform = 'none' | 'log1p' | 'hours-since';

export interface FeatureSpec {
  name: FeatureName;
  kind: 'number' | 'integer';
  transform: FeatureTransform;
  /** For `hours-since`: the hour mapped to 0. */
  origin?: number;
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

/** Applies the specs' transforms to `count` rows of raw features (row-major), into `out`. */
export function transformRows(
  specs: readonly FeatureSpec[],
  raw: Float64Array,
  out: Float64Array,
  count: number,
): void {
  const m = specs.length;
  const end = count * m;
  for (let j = 0; j < m; j++) {
    const spec = specs[j];
    if (spec.transform === 'log1p') for (let i = j; i < end; i += m) out[i] = Math.log1p(raw[i]);
    else if (spec.transform === 'hours-since') {
      const shift = 24 - (spec.origin ?? 0);
      for (let i = j; i < end; i += m) out[i] = (raw[i] + shift) % 24;
    } else for (let i = j; i < end; i += m) out[i] = raw[i];
  }
}

/** Whether transformed values stay integers, so a split between two of them can sit at k + 0.5. */
export function keepsIntegers(spec: FeatureSpec): boolean {
  return spec.kind === 'integer' && spec.transform !== 'log1p';
}
