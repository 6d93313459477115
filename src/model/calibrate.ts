/**
 * Calibration: choosing a model's threshold from the anomaly scores of real traffic, either for an alert rate
 * (flag at most that share of the rows) or for a target precision against labels (the lowest threshold that
 * reaches it, so the most recall). Pure: scores in, a threshold and its figures out.
 */
import { SecureflowError } from '../core/errors.js';
import { sealModel, type ModelCalibration, type ModelDocument } from './model-file.js';
import { percentileRank } from './quantiles.js';

/** z for a two-sided 95% interval. */
const Z95 = 1.959963984540054;

/** A proportion `successes / n` with its 95% Wilson score interval. */
export interface Estimate {
  value: number;
  low: number;
  high: number;
  /** What it rests on: the successes and the number of trials (rows, flagged rows or positives). */
  successes: number;
  n: number;
}

/**
 * Wilson score interval (Wilson 1927) for `successes` of `n`: unlike the normal approximation it stays in
 * [0, 1] and is sound near 0 and 1, where alert rates and precisions live. With n = 0 nothing is known: [0, 1].
 */
export function wilson(successes: number, n: number, z = Z95): Estimate {
  if (n === 0) return { value: Number.NaN, low: 0, high: 1, successes, n };
  const p = successes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return {
    value: p,
    low: successes === 0 ? 0 : Math.max(0, center - half),
    high: successes === n ? 1 : Math.min(1, center + half),
    successes,
    n,
  };
}

/** What a threshold does on the calibration traffic. */
export interface ThresholdFigures {
  threshold: number;
  rows: number;
  /** Rows with score >= threshold, of all rows. */
  flagged: Estimate;
  /** With labels: anomalies among the flagged rows (n = flagged rows). */
  precision: Estimate | null;
  /** With labels: flagged rows among the anomalies (n = positives). */
  recall: Estimate | null;
}

/** The figures of `threshold` on `scores` (and `labels`, 1 = anomaly, when given). */
export function figuresAt(
  scores: ArrayLike<number>,
  labels: ArrayLike<number> | null,
  threshold: number,
): ThresholdFigures {
  let flagged = 0;
  let tp = 0;
  let positives = 0;
  for (let i = 0; i < scores.length; i++) {
    const f = scores[i] >= threshold;
    if (f) flagged++;
    if (labels && labels[i]) {
      positives++;
      if (f) tp++;
    }
  }
  return {
    threshold,
    rows: scores.length,
    flagged: wilson(flagged, scores.length),
    precision: labels ? wilson(tp, flagged) : null,
    recall: labels ? wilson(tp, positives) : null,
  };
}

export interface ThresholdChoice {
  threshold: number;
  /** Rows the target allowed (alert rate) and rows actually flagged on this traffic. */
  allowed: number;
  flagged: number;
  /** What was done about ties, or why the result differs from the plain target; null when nothing to say. */
  note: string | null;
}

function descending(scores: ArrayLike<number>): Float64Array {
  const s = Float64Array.from(scores);
  s.sort();
  s.reverse();
  return s;
}

/** The most rows out of `rows` that keep the share at or under `rate` (exact where floating point is not). */
export function allowedRows(rows: number, rate: number): number {
  let k = Math.floor(rate * rows);
  while (k + 1 <= rows && (k + 1) / rows <= rate) k++;
  while (k > 0 && k / rows > rate) k--;
  return k;
}

/**
 * The threshold that flags at most `rate` of `scores` (score >= threshold): the k-th highest score, k the most
 * rows the rate allows. Ties never push the share over the rate: when rows tied at that score straddle the limit,
 * the threshold moves up to the next higher score, flagging fewer rows (the note says how many).
 * Throws `invalid` when the rate allows no row at all on this traffic.
 */
export function thresholdForAlertRate(scores: ArrayLike<number>, rate: number): ThresholdChoice {
  if (!(rate > 0 && rate <= 1)) throw new RangeError(`alert rate must be in (0, 1], got ${rate}`);
  const n = scores.length;
  const k = allowedRows(n, rate);
  if (k === 0) {
    throw new SecureflowError(
      'invalid',
      `an alert rate of ${formatShare(rate)} allows no flagged row out of ${n}: calibrate on more traffic ` +
        `(at least ${Math.ceil(1 / rate)} rows) or a higher rate`,
      { field: 'alert-rate' },
    );
  }
  const s = descending(scores);
  const at = s[k - 1];
  if (k === n || s[k] < at) return { threshold: at, allowed: k, flagged: k, note: null };
  // Rows tied at `at` straddle the limit: flag only the rows strictly above it.
  let above = k - 1;
  while (above > 0 && s[above - 1] === at) above--;
  let tied = k;
  while (tied < n && s[tied] === at) tied++;
  const tiedCount = tied - above;
  if (above === 0) {
    throw new SecureflowError(
      'invalid',
      `the ${tiedCount} highest-scoring rows all score ${at}, more than the ${k} an alert rate of ` +
        `${formatShare(rate)} allows: no threshold flags at most that share of this traffic`,
      { field: 'alert-rate' },
    );
  }
  return {
    threshold: s[above - 1],
    allowed: k,
    flagged: above,
    note:
      `${tiedCount} rows tie at score ${at} across the limit of ${k}; the threshold moved up to the next ` +
      `higher score, flagging ${above} (never more than the rate)`,
  };
}

/**
 * The lowest threshold (so the most recall) whose precision on `labels` is at least `target`. Candidate thresholds
 * are the distinct scores; precision is not monotone in the threshold, so every one is looked at.
 * Throws `invalid` when there is no anomaly among the labels or no threshold reaches the target.
 */
export function thresholdForPrecision(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  target: number,
): ThresholdChoice {
  if (!(target > 0 && target <= 1)) throw new RangeError(`target precision must be in (0, 1], got ${target}`);
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i] ? 1 : 0;
  if (positives === 0)
    throw new SecureflowError('invalid', 'the labels mark no row as an anomaly: precision cannot be measured', {
      field: 'label-column',
    });
  let tp = 0;
  let best: { threshold: number; flagged: number } | null = null;
  let top = { precision: 0, threshold: scores[order[0]] };
  for (let i = 0; i < n; ) {
    const v = scores[order[i]];
    let j = i;
    while (j < n && scores[order[j]] === v) tp += labels[order[j++]] ? 1 : 0;
    const precision = tp / j;
    if (precision >= target) best = { threshold: v, flagged: j };
    if (precision > top.precision) top = { precision, threshold: v };
    i = j;
  }
  if (!best) {
    throw new SecureflowError(
      'invalid',
      `no threshold reaches a precision of ${formatShare(target)} on this traffic (the best is ` +
        `${formatShare(top.precision)}, at threshold ${top.threshold})`,
      { field: 'target-precision' },
    );
  }
  return { threshold: best.threshold, allowed: best.flagged, flagged: best.flagged, note: null };
}

/** 0.02 -> "2%", 0.125 -> "12.5%". */
export function formatShare(x: number): string {
  return `${Number((x * 100).toPrecision(6))}%`;
}

/**
 * The same model with a new threshold and its provenance: trees, feature schema and training distribution are
 * kept as they are (risk_score stays a percentile of the training scores; risk_level's bands follow the
 * threshold). Sealed anew, so it gets its own content-hash version.
 */
export function withCalibratedThreshold(
  doc: ModelDocument,
  threshold: number,
  calibration: Omit<ModelCalibration, 'fromVersion' | 'fromThreshold'>,
): ModelDocument {
  if (!(threshold > 0 && threshold <= 1)) throw new RangeError(`threshold must be in (0, 1], got ${threshold}`);
  const { format: _format, formatVersion: _formatVersion, id, ...body } = doc;
  return sealModel({
    ...body,
    threshold,
    calibration: { ...calibration, fromVersion: id, fromThreshold: doc.threshold },
  });
}

/** The share of traffic a model's threshold is expected to flag, and what that expectation rests on. */
export interface ExpectedAlertRate {
  /** The calibration traffic (calibrate) or the training rows (a threshold set at training time). */
  basis: 'calibration' | 'training';
  share: number;
  low: number;
  high: number;
  /** The rows it was measured on. */
  rows: number;
}

/**
 * The alert rate of a model's threshold: for a model calibrated on traffic files, the share of that traffic it
 * flagged; otherwise the share of its training rows at or above it (from the training-score quantiles, so to
 * about 0.1%). 95% Wilson interval on the rows it rests on. A `threshold` other than the model's (a --threshold
 * override) is measured on the training rows.
 */
export function expectedAlertRate(doc: ModelDocument, threshold = doc.threshold): ExpectedAlertRate {
  const c = doc.calibration;
  if (c && c.source === 'files' && threshold === doc.threshold) {
    const e = wilson(c.flagged, c.rows);
    return { basis: 'calibration', share: e.value, low: e.low, high: e.high, rows: c.rows };
  }
  const rows = doc.training.rows;
  const share = 1 - percentileRank(doc.training.scoreQuantiles, threshold) / 100;
  const e = wilson(Math.round(share * rows), rows);
  return { basis: 'training', share, low: e.low, high: e.high, rows };
}
