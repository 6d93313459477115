import { FEATURE_COUNT, FEATURES, transformRows, type FeatureName, type FeatureSpec } from './features.js';
import type { ColumnKind } from './forest-train.js';
import { quantile } from './quantiles.js';

/**
 * Conditional features: extra split dimensions that say how odd a field is *for the merchant category*, learned
 * from the training rows and stored in the model file. The forest splits on them like on any feature, but the
 * user sees the five transaction fields only: each conditional feature is a function of a subset of the fields
 * (`reads`), and explanations stay Shapley values over the five fields (see shap-table.ts and coalition-shap.ts).
 *
 * - amount_for_category: (log(amount + 1 cent) - median) / scale of the category's log amounts, scale = IQR / 1.349
 *   (a robust z-score: a coffee-shop amount the size of a flight, or a burst of cent-sized card tests, sits many
 *   scales from its category's bulk even when it is ordinary overall). Median and IQR, not mean and deviation, so
 *   the fraud inside the training rows cannot drag them far. log(amount + 0.01), not log1p: log1p squeezes every
 *   amount under one unit into [0, 0.7], so card tests of a few cents sat only 3-4 scales below a category whose
 *   median is 11; with a cent's offset they sit 8-12 scales below (files before it say `robust-z-log1p`).
 * - hour_for_category, type_for_category, day_for_category: log of the share of the category's training rows
 *   with that hour / type / day (Laplace-smoothed) below ORDINARY_SHARE, 0 from there up: electronics at 3 am or
 *   a transfer at a grocery is rare for the category though common overall. Log, because the forest cuts
 *   uniformly between a node's min and max and the rare end (shares of 0.001 against 0.05) would be a sliver of a
 *   linear axis. Flat above 1%, because an isolation forest isolates any minority value of a column in one cut,
 *   however common: grocery cash back (3%) and marketplace transfers (4%) were isolated as fast as a transfer no
 *   grocery ever sees, and filled the top of the ranking (files before it say `log-share`, with no floor).
 */
export type ConditionalFeature = CategoryAmountFeature | CategoryShareFeature;

export interface CategoryAmountFeature {
  name: 'amount_for_category';
  /** `robust-z-log-cent`: z of log(amount + 0.01); `robust-z-log1p`: of log1p(amount) (older files). */
  rule: 'robust-z-log-cent' | 'robust-z-log1p';
  reads: ['amount', 'merchant_category'];
  /** Per category code with enough rows (MIN_CATEGORY_ROWS): [median, scale] of the log amount. */
  categories: Record<string, [number, number]>;
  /** For other categories: the same over all training rows. */
  overall: [number, number];
  /** The independence test that chose it (`--conditional-features auto`), else absent. */
  chosen?: IndependenceTest;
}

export interface CategoryShareFeature {
  name: 'hour_for_category' | 'type_for_category' | 'day_for_category';
  /** `log-share-rare`: min(0, log(share / ordinaryShare)); `log-share`: log(share), no floor (older files). */
  rule: 'log-share-rare' | 'log-share';
  /** With `log-share-rare`: the share from which a value is ordinary for the category (0 from there up). */
  ordinaryShare?: number;
  reads: [FeatureName, 'merchant_category'];
  /** Laplace smoothing: log((count + 1) / (category rows + values)). */
  values: number;
  /** Per category code: training rows per value of the field (values with no rows left out). */
  counts: Record<string, Record<string, number>>;
  chosen?: IndependenceTest;
}

/**
 * `--conditional-features auto` asks two things of the training rows, by Pearson's chi-square test of independence
 * of a field (amount by decile of log1p(amount)) and the category:
 * 1. Are the categories different populations? Only if the amount depends on the category with a bias-corrected
 *    Cramér's V >= SEGMENT_V (0.2): the scenario suite's merchant categories give 0.36, the reference sample 0.10
 *    and the bundled model's data 0.07, where the only dependence is the anomalies' own (weekend-night transfers
 *    all in category 9), and conditional features cost them ROC-AUC (0.992 -> 0.983 on the reference sample).
 *    Otherwise none is kept.
 * 2. Then each feature whose field depends on the category at p < 0.001 (Wilson-Hilferty z > 3.09) is kept: a
 *    field independent of the category gives its conditional feature nothing but noise splits.
 */
export interface IndependenceTest {
  rule: 'chi-square-independence';
  chiSquare: number;
  df: number;
  /** Wilson-Hilferty z of the statistic; kept when z > KEEP_Z. */
  z: number;
  /** Cramér's V with Bergsma's (2013) small-sample bias correction: 0 (independent) to 1. */
  cramersV: number;
}

export type ConditionalName = ConditionalFeature['name'];
export const CONDITIONAL_NAMES: readonly ConditionalName[] = [
  'amount_for_category',
  'hour_for_category',
  'type_for_category',
  'day_for_category',
];

const AMOUNT = 0;
const CATEGORY = 3;
/** A value at least this share of the category's training rows take is ordinary for it (log-share-rare). */
const ORDINARY_SHARE = 0.01;
/** log(amount + CENT): zero amounts stay finite, and amounts of a few cents stay apart (robust-z-log-cent). */
const CENT = 0.01;
const logCent = (amount: number): number => Math.log(amount + CENT);
/** Categories with fewer training rows use the overall amount statistics. */
const MIN_CATEGORY_ROWS = 10;
/** The smallest scale: a category whose amounts are all equal still gives finite z-scores. */
const MIN_SCALE = 0.01;
/** p < 0.001, one-sided. */
const KEEP_Z = 3.09;
/** Bias-corrected Cramér's V of amount and category from which the categories count as different populations. */
const SEGMENT_V = 0.2;
const SHARE_FIELDS: Record<CategoryShareFeature['name'], { field: number; values: number }> = {
  hour_for_category: { field: 1, values: 24 },
  day_for_category: { field: 2, values: 7 },
  type_for_category: { field: 4, values: 0 }, // 0: the number of distinct types in the training rows
};

/** The fields a conditional feature is a function of, by its name (what the file's `reads` must say). */
export function conditionalReads(name: ConditionalName): FeatureName[] {
  const field = name === 'amount_for_category' ? AMOUNT : SHARE_FIELDS[name].field;
  return [FEATURES[field], 'merchant_category'];
}

/** The fields (bit j = FEATURES[j]) a conditional feature reads. */
export function readsMask(feature: ConditionalFeature): number {
  let mask = 0;
  for (const name of conditionalReads(feature.name)) mask |= 1 << FEATURES.indexOf(name);
  return mask;
}

/**
 * Learns conditional features from `rows` raw training rows (row-major, FEATURES order). `names`: which ones;
 * with `auto`, none unless the categories are different populations, then those whose field depends on the
 * category (IndependenceTest).
 */
export function learnConditionalFeatures(
  raw: Float64Array,
  rows: number,
  names: readonly ConditionalName[],
  auto: boolean,
): ConditionalFeature[] {
  const out: ConditionalFeature[] = [];
  if (auto && !(independenceTest(raw, rows, 'amount_for_category').cramersV >= SEGMENT_V)) return out;
  for (const name of names) {
    const feature = name === 'amount_for_category' ? learnAmount(raw, rows) : learnShare(raw, rows, name);
    if (auto) {
      const test = independenceTest(raw, rows, name);
      feature.chosen = test;
      if (!(test.z > KEEP_Z)) continue;
    }
    out.push(feature);
  }
  return out;
}

function learnAmount(raw: Float64Array, rows: number): CategoryAmountFeature {
  const byCategory = new Map<number, number[]>();
  const all = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const v = logCent(raw[i * FEATURE_COUNT + AMOUNT]);
    all[i] = v;
    const c = raw[i * FEATURE_COUNT + CATEGORY];
    const list = byCategory.get(c);
    if (list) list.push(v);
    else byCategory.set(c, [v]);
  }
  const categories: Record<string, [number, number]> = {};
  for (const c of [...byCategory.keys()].sort((a, b) => a - b)) {
    const values = byCategory.get(c)!;
    if (values.length >= MIN_CATEGORY_ROWS) categories[String(c)] = robustCentre(Float64Array.from(values).sort());
  }
  return {
    name: 'amount_for_category',
    rule: 'robust-z-log-cent',
    reads: ['amount', 'merchant_category'],
    categories,
    overall: robustCentre(all.sort()),
  };
}

/** [median, max(IQR / 1.349, MIN_SCALE)] of ascending values, to six decimals (what the file records). */
function robustCentre(sorted: Float64Array): [number, number] {
  const iqr = quantile(sorted, 0.75) - quantile(sorted, 0.25);
  return [round6(quantile(sorted, 0.5)), round6(Math.max(iqr / 1.349, MIN_SCALE))];
}

function learnShare(raw: Float64Array, rows: number, name: CategoryShareFeature['name']): CategoryShareFeature {
  const { field } = SHARE_FIELDS[name];
  const counts = new Map<number, Map<number, number>>();
  const distinct = new Set<number>();
  for (let i = 0; i < rows; i++) {
    const c = raw[i * FEATURE_COUNT + CATEGORY];
    const v = raw[i * FEATURE_COUNT + field];
    distinct.add(v);
    const m = counts.get(c) ?? new Map<number, number>();
    counts.set(c, m);
    m.set(v, (m.get(v) ?? 0) + 1);
  }
  const record: Record<string, Record<string, number>> = {};
  for (const c of [...counts.keys()].sort((a, b) => a - b)) {
    const m = counts.get(c)!;
    record[String(c)] = Object.fromEntries([...m.keys()].sort((a, b) => a - b).map((v) => [String(v), m.get(v)!]));
  }
  return {
    name,
    rule: 'log-share-rare',
    ordinaryShare: ORDINARY_SHARE,
    reads: [FEATURES[field], 'merchant_category'],
    values: SHARE_FIELDS[name].values || Math.max(2, distinct.size),
    counts: record,
  };
}

/** Chi-square test of independence between the feature's field (amount by decile) and the category. */
export function independenceTest(raw: Float64Array, rows: number, name: ConditionalName): IndependenceTest {
  const field = name === 'amount_for_category' ? AMOUNT : SHARE_FIELDS[name].field;
  const value = new Float64Array(rows);
  for (let i = 0; i < rows; i++) value[i] = raw[i * FEATURE_COUNT + field];
  if (field === AMOUNT) {
    const sorted = Float64Array.from(value).sort();
    const cuts = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => quantile(sorted, k / 10));
    for (let i = 0; i < rows; i++) {
      let b = 0;
      while (b < cuts.length && value[i] > cuts[b]) b++;
      value[i] = b;
    }
  }
  const rowKeys = new Map<number, number>();
  const colKeys = new Map<number, number>();
  const cells = new Map<string, number>();
  for (let i = 0; i < rows; i++) {
    const c = raw[i * FEATURE_COUNT + CATEGORY];
    const v = value[i];
    rowKeys.set(c, (rowKeys.get(c) ?? 0) + 1);
    colKeys.set(v, (colKeys.get(v) ?? 0) + 1);
    const key = `${c},${v}`;
    cells.set(key, (cells.get(key) ?? 0) + 1);
  }
  let chi = 0;
  for (const [c, nc] of rowKeys)
    for (const [v, nv] of colKeys) {
      const expected = (nc * nv) / rows;
      const d = (cells.get(`${c},${v}`) ?? 0) - expected;
      chi += (d * d) / expected;
    }
  const df = Math.max(1, (rowKeys.size - 1) * (colKeys.size - 1));
  const k = 2 / (9 * df);
  const z = ((chi / df) ** (1 / 3) - (1 - k)) / Math.sqrt(k);
  // Bergsma's correction: without it V is biased upward on small samples (0.2 on 1,100 independent rows).
  const r = rowKeys.size;
  const c = colKeys.size;
  const phi2 = Math.max(0, chi / rows - ((r - 1) * (c - 1)) / (rows - 1));
  const rc = r - (r - 1) ** 2 / (rows - 1);
  const cc = c - (c - 1) ** 2 / (rows - 1);
  const v = Math.min(rc, cc) > 1 ? Math.sqrt(phi2 / (Math.min(rc, cc) - 1)) : 0;
  return { rule: 'chi-square-independence', chiSquare: round6(chi), df, z: round6(z), cramersV: round6(v) };
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/**
 * A conditional feature ready to compute: dense tables by category code (codes up to DENSE_CODES; larger
 * codes, which no training row had, take the unseen-category value).
 */
const DENSE_CODES = 1024;

export interface ConditionalColumn {
  /** Writes the feature of `count` raw rows into `out[i * stride + column]`. */
  fill(raw: Float64Array, count: number, out: Float64Array, stride: number, column: number): void;
}

export function compileConditional(feature: ConditionalFeature): ConditionalColumn {
  if (feature.name === 'amount_for_category') {
    const centre = new Float64Array(DENSE_CODES).fill(feature.overall[0]);
    const inverse = new Float64Array(DENSE_CODES).fill(1 / feature.overall[1]);
    for (const [c, [m, s]] of Object.entries(feature.categories)) {
      const code = Number(c);
      if (code < DENSE_CODES) {
        centre[code] = m;
        inverse[code] = 1 / s;
      }
    }
    const [om, os] = feature.overall;
    const log = feature.rule === 'robust-z-log1p' ? Math.log1p : logCent;
    return {
      fill(raw, count, out, stride, column) {
        for (let i = 0; i < count; i++) {
          const code = raw[i * FEATURE_COUNT + CATEGORY];
          const v = log(raw[i * FEATURE_COUNT + AMOUNT]);
          out[i * stride + column] = code < DENSE_CODES ? (v - centre[code]) * inverse[code] : (v - om) / os;
        }
      },
    };
  }
  const field = SHARE_FIELDS[feature.name].field;
  // log-share-rare: shares from ordinaryShare up are all 0, so only what is rare for the category stands apart.
  const floor = feature.rule === 'log-share-rare' ? Math.log(feature.ordinaryShare ?? ORDINARY_SHARE) : null;
  const level = (share: number): number => (floor === null ? Math.log(share) : Math.min(0, Math.log(share) - floor));
  const unseen = level(1 / feature.values);
  // Per category: level((count + 1) / (n + values)) for the field's values 0..width-1 (others: count 0).
  let width = 1;
  for (const m of Object.values(feature.counts)) for (const v of Object.keys(m)) width = Math.max(width, Number(v) + 1);
  width = Math.min(width, DENSE_CODES);
  const table = new Float64Array(DENSE_CODES * width).fill(unseen);
  const absent = new Float64Array(DENSE_CODES).fill(unseen);
  for (const [c, m] of Object.entries(feature.counts)) {
    const code = Number(c);
    if (code >= DENSE_CODES) continue;
    let n = 0;
    for (const k of Object.values(m)) n += k;
    const zero = level(1 / (n + feature.values));
    absent[code] = zero;
    table.fill(zero, code * width, (code + 1) * width);
    for (const [v, k] of Object.entries(m))
      if (Number(v) < width) table[code * width + Number(v)] = level((k + 1) / (n + feature.values));
  }
  return {
    fill(raw, count, out, stride, column) {
      for (let i = 0; i < count; i++) {
        const code = raw[i * FEATURE_COUNT + CATEGORY];
        const v = raw[i * FEATURE_COUNT + field];
        out[i * stride + column] = code < DENSE_CODES ? (v < width ? table[code * width + v] : absent[code]) : unseen;
      }
    },
  };
}

/**
 * Raw rows (the five fields) to the forest's columns: the five transformed fields, then the conditional
 * features. `reads[c]`: the fields column c is a function of (bit j = FEATURES[j]), for explanations.
 */
export class RowEncoder {
  readonly width: number;
  readonly reads: Int32Array;
  readonly kinds: ColumnKind[];
  private readonly columns: ConditionalColumn[];

  constructor(
    private readonly specs: readonly FeatureSpec[],
    conditional: readonly ConditionalFeature[] = [],
  ) {
    this.width = specs.length + conditional.length;
    this.columns = conditional.map(compileConditional);
    this.reads = Int32Array.from([...specs.map((_, j) => 1 << j), ...conditional.map(readsMask)]);
    this.kinds = [...specs, ...conditional.map((): ColumnKind => ({ kind: 'number', transform: 'none' }))];
  }

  /** Encodes `count` raw rows into `out` (`width` values a row). */
  encode(raw: Float64Array, count: number, out: Float64Array): void {
    transformRows(this.specs, raw, out, count, this.width);
    const m = this.specs.length;
    for (let k = 0; k < this.columns.length; k++) this.columns[k].fill(raw, count, out, this.width, m + k);
  }
}
