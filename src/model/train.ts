import {
  chooseAmountTransform,
  chooseDayStartHour,
  defaultFeatureSpecs,
  FEATURE_COUNT,
  type FeatureSpec,
} from './features.js';
import { CONDITIONAL_NAMES, learnConditionalFeatures, RowEncoder } from './conditional.js';
import { growForest, heightLimit } from './forest-train.js';
import { DenseForest } from './forest-score.js';
import { sealModel, type FeatureStats, type ModelDocument, type TrainingProvenance } from './model-file.js';
import { resolveForestOptions, type ForestOptions } from './options.js';
import { anomalyScoreFromDepth, averagePathLength } from './path-length.js';
import { quantile, quantileTable } from './quantiles.js';
import { createRandom, type Random } from './random.js';

const QUANTILE_POINTS = 1001;

/**
 * Trains a model on `rows` raw transactions (row-major, FEATURES order). Deterministic: the same
 * rows, options and generator state give the same document, byte for byte.
 */
export function trainModel(
  raw: Float64Array,
  rows: number,
  partial: Partial<ForestOptions> = {},
  rng?: Random,
): ModelDocument {
  const options = resolveForestOptions(partial);
  if (rows < 2) throw new RangeError(`training needs at least 2 rows, got ${rows}`);
  const conditional =
    options.conditionalFeatures === 'none'
      ? []
      : learnConditionalFeatures(raw, rows, CONDITIONAL_NAMES, options.conditionalFeatures === 'auto');
  const specs = featureSpecsFor(raw, rows, options, conditional.length > 0);
  const encoder = new RowEncoder(specs, conditional);
  const x = new Float64Array(rows * encoder.width);
  encoder.encode(raw, rows, x);

  const random = rng ?? createRandom(options.seed);
  // Integer draw counts: a weight of 1.5 draws each field's column twice and each conditional column three times.
  // Whole weights, and models without conditional features, draw the fields once, as before halves were allowed
  // (the same trees).
  const unit = conditional.length === 0 || Number.isInteger(options.conditionalWeight) ? 1 : 2;
  const weights = [...specs.map(() => unit), ...conditional.map(() => unit * options.conditionalWeight)];
  const trees = growForest(x, rows, encoder.kinds, options.trees, options.sampleSize, random, weights);
  const psi = Math.min(options.sampleSize, rows);
  const height = heightLimit(psi);
  const normaliser = averagePathLength(psi);

  const sums = new Float64Array(rows);
  new DenseForest(trees, height, encoder.width).sumPathLengths(x, rows, sums);
  const scores = new Float64Array(rows);
  for (let i = 0; i < rows; i++) scores[i] = anomalyScoreFromDepth(sums[i] / trees.length, normaliser);
  scores.sort();

  // scikit-learn: offset_ = percentile(score_samples, 100 * contamination), score_samples = -s.
  let threshold: number;
  if (options.threshold !== null) threshold = options.threshold;
  else if (options.contamination === 'auto') threshold = 0.5;
  else threshold = quantile(scores, 1 - options.contamination);

  // Keys only present when used: a model without conditional features is the same file as before they existed.
  return sealModel({
    features: specs,
    ...(conditional.length === 0 ? {} : { conditional }),
    options: {
      trees: options.trees,
      sampleSize: options.sampleSize,
      seed: options.seed,
      contamination: options.contamination,
      threshold: options.threshold,
      ...(options.conditionalFeatures === 'none' ? {} : { conditionalFeatures: options.conditionalFeatures }),
      ...(conditional.length === 0 ? {} : { conditionalWeight: options.conditionalWeight }),
    },
    threshold,
    forest: { sampleSize: psi, heightLimit: height, normaliser, trees },
    training: {
      rows,
      scoreQuantiles: quantileTable(scores, QUANTILE_POINTS),
      features: featureStats(specs, raw, rows),
    },
  });
}

/** The same model, recording where its training rows came from (`train --from-db`): a new content hash. */
export function withProvenance(doc: ModelDocument, provenance: TrainingProvenance): ModelDocument {
  if (provenance.rows !== doc.training.rows)
    throw new RangeError(`provenance says ${provenance.rows} rows, the model was trained on ${doc.training.rows}`);
  const { format: _format, formatVersion: _formatVersion, id: _id, ...body } = doc;
  return sealModel({ ...body, provenance });
}

/**
 * The feature specs, with `auto` representations chosen from the training rows and the choice recorded;
 * `conditional` amounts are log1p when the model keeps conditional features.
 */
function featureSpecsFor(raw: Float64Array, rows: number, options: ForestOptions, conditional: boolean): FeatureSpec[] {
  const column = (j: number): Float64Array => {
    const values = new Float64Array(rows);
    for (let i = 0; i < rows; i++) values[i] = raw[i * FEATURE_COUNT + j];
    return values;
  };
  const amount = options.amountTransform === 'auto' ? chooseAmountTransform(column(0)) : null;
  const hour = options.dayStartHour === 'auto' ? chooseDayStartHour(column(1)) : null;
  const fixed = options.amountTransform === 'conditional' ? (conditional ? 'log1p' : 'none') : options.amountTransform;
  const specs = defaultFeatureSpecs(
    amount?.transform ?? (fixed as 'none' | 'log1p'),
    hour?.hour ?? (options.dayStartHour as number | null),
  );
  if (amount) specs[0].chosen = amount.chosen;
  if (hour) specs[1].chosen = hour.chosen;
  return specs;
}

function featureStats(specs: readonly FeatureSpec[], raw: Float64Array, rows: number): FeatureStats[] {
  const m = specs.length;
  return specs.map((spec, j) => {
    const values = new Float64Array(rows);
    for (let i = 0; i < rows; i++) values[i] = raw[i * m + j];
    values.sort();
    const stats: FeatureStats = { name: spec.name, quantiles: quantileTable(values, QUANTILE_POINTS) };
    if (spec.kind === 'integer') {
      const counts = new Map<number, number>();
      for (const v of values) {
        counts.set(v, (counts.get(v) ?? 0) + 1);
        if (counts.size > 100) break;
      }
      if (counts.size <= 100) stats.counts = Object.fromEntries([...counts].map(([v, c]) => [String(v), c]));
    }
    return stats;
  });
}
