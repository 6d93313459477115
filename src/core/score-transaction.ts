import { riskFactors, type RiskFactor, type RiskLevel } from '../model/explain.js';
import { FEATURE_COUNT, FEATURES } from '../model/features.js';
import type { IsolationForestModel } from '../model/model.js';
import { normalizeTransaction, type CanonicalTransaction } from '../model/transaction.js';
import type { NewTransaction } from '../db/store.js';
import { SecureflowError } from './errors.js';

/** One scored transaction: the fields of the HTTP contract, shared by the CLI and the daemon. */
export interface ScoreResult {
  transaction_id: number | null;
  reference: string | null;
  is_anomaly: boolean;
  is_fraudulent: boolean;
  anomaly_score: number;
  risk_score: number;
  risk_level: RiskLevel;
  confidence: number;
  shap_explanation: Record<string, number>;
  /** TreeSHAP's base value: shap_explanation adds up to (minus mean path length) - shap_base_value. */
  shap_base_value: number;
  risk_factors: RiskFactor[];
  transaction: CanonicalTransaction;
  data_source: string;
  model_version: string;
  timestamp: string;
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * Row `v`'s Shapley values (`phi`, 5 per row) and risk factors, rounded as every face shows them. `raw` holds the
 * rows' raw features (FEATURES order), which the risk-factor sentences quote.
 */
export function explanationOf(
  model: IsolationForestModel,
  raw: Float64Array,
  phi: Float64Array,
  v: number,
): { shap_explanation: Record<string, number>; risk_factors: RiskFactor[] } {
  const p = phi.subarray(v * FEATURE_COUNT, (v + 1) * FEATURE_COUNT);
  const shap: Record<string, number> = {};
  for (let j = 0; j < FEATURE_COUNT; j++) shap[FEATURES[j]] = round(p[j], 6);
  const factors = riskFactors(raw, v * FEATURE_COUNT, p, model.doc.training.features, model.doc.training.rows);
  return {
    shap_explanation: shap,
    risk_factors: factors.map((f) => ({ ...f, contribution: round(f.contribution, 6) })),
  };
}

/** A transaction that passed validation: its canonical fields, raw features and the caller's reference. */
export interface ValidTransaction {
  transaction: CanonicalTransaction;
  features: Float64Array;
  reference: string | null;
}

/** Validates one transaction (canonical or legacy). Throws invalid naming the field. */
export function validateTransaction(input: unknown): ValidTransaction {
  const normalized = normalizeTransaction(input);
  if (!normalized.ok) {
    const { field, reason } = normalized.error;
    throw new SecureflowError('invalid', `${field} ${reason}`, { field });
  }
  return normalized;
}

/**
 * Scores and explains valid transactions together (the kernels want blocks of rows): the one path behind
 * `secureflow score` for single transactions and the daemon's /api/predict.
 */
export function scoreValid(
  model: IsolationForestModel,
  items: readonly ValidTransaction[],
  dataSource: string,
  now = new Date(),
): ScoreResult[] {
  const n = items.length;
  const raw = new Float64Array(n * FEATURE_COUNT);
  items.forEach((item, i) => {
    raw.set(item.features, i * FEATURE_COUNT);
  });
  const scores = new Float64Array(n);
  model.scoreRows(raw, n, scores);
  const phi = new Float64Array(n * FEATURE_COUNT);
  model.explainRows(raw, n, phi);
  const base = round(model.shapBaseValue, 6);
  const timestamp = now.toISOString();
  return items.map((item, i) => {
    const verdict = model.verdict(scores[i]);
    const { shap_explanation, risk_factors } = explanationOf(model, raw, phi, i);
    return {
      transaction_id: null,
      reference: item.reference,
      is_anomaly: verdict.is_anomaly,
      is_fraudulent: verdict.is_anomaly,
      anomaly_score: round(verdict.anomaly_score, 6),
      risk_score: round(verdict.risk_score, 2),
      risk_level: verdict.risk_level,
      confidence: round(verdict.confidence, 4),
      shap_explanation,
      shap_base_value: base,
      risk_factors,
      transaction: item.transaction,
      data_source: dataSource,
      model_version: model.version,
      timestamp,
    };
  });
}

/** Validates, scores and explains one transaction (canonical or legacy). Throws invalid naming the field. */
export function scoreTransaction(
  model: IsolationForestModel,
  input: unknown,
  dataSource: string,
  now = new Date(),
): ScoreResult {
  return scoreValid(model, [validateTransaction(input)], dataSource, now)[0];
}

/** The row to store for a scored transaction (explanation included). */
export function toNewTransaction(r: ScoreResult, batchId: string | null): NewTransaction {
  return {
    reference: r.reference,
    ...r.transaction,
    is_fraudulent: r.is_anomaly,
    anomaly_score: r.anomaly_score,
    risk_score: r.risk_score,
    risk_level: r.risk_level,
    confidence: r.confidence,
    explanation: {
      shap_explanation: r.shap_explanation,
      shap_base_value: r.shap_base_value,
      risk_factors: r.risk_factors,
    },
    model_version: r.model_version,
    source: r.data_source,
    batch_id: batchId,
  };
}
