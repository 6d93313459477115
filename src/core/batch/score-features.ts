import { confidence } from '../../model/explain.js';
import { FEATURE_COUNT } from '../../model/features.js';
import type { IsolationForestModel } from '../../model/model.js';
import type { ScoredBatch } from './score-chunk.js';

/**
 * Scores (and optionally explains) rows already read into `features` (raw, FEATURES order): the one
 * scoring step behind CSV chunks, JSON batches and the daemon.
 */
export function scoreFeatureRows(
  model: IsolationForestModel,
  seq: number,
  features: Float64Array,
  count: number,
  references: (string | null)[] | null,
  explain: boolean,
  stopped = false,
): ScoredBatch {
  const rows = features.subarray(0, count * FEATURE_COUNT);
  const anomalyScore = new Float64Array(count);
  model.scoreRows(rows, count, anomalyScore);
  const riskScore = new Float64Array(count);
  const conf = new Float64Array(count);
  const isAnomaly = new Uint8Array(count);
  const thresholdRisk = model.thresholdRisk;
  for (let v = 0; v < count; v++) {
    const flagged = anomalyScore[v] >= model.threshold;
    isAnomaly[v] = flagged ? 1 : 0;
    riskScore[v] = model.riskScore(anomalyScore[v]);
    conf[v] = confidence(riskScore[v], thresholdRisk, flagged);
  }
  let shap: Float64Array | null = null;
  if (explain) {
    shap = new Float64Array(count * FEATURE_COUNT);
    model.explainRows(rows, count, shap);
  }
  return {
    seq,
    count,
    features: rows,
    anomalyScore,
    riskScore,
    confidence: conf,
    isAnomaly,
    references,
    shap,
    stopped,
    decisions: null,
    matchedRules: null,
    ruleErrors: null,
  };
}
