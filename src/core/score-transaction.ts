import type { RiskFactor, RiskLevel } from '../model/explain.js';
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

/** Validates, scores and explains one transaction (canonical or legacy). Throws invalid_input naming the field. */
export function scoreTransaction(model: IsolationForestModel, input: unknown, dataSource: string, now = new Date()): ScoreResult {
  const normalized = normalizeTransaction(input);
  if (!normalized.ok) {
    const { field, reason } = normalized.error;
    throw new SecureflowError('invalid_input', `${field} ${reason}`, { field });
  }
  const score = model.scoreOne(normalized.features);
  const verdict = model.verdict(score);
  const explanation = model.explain(normalized.features);
  return {
    transaction_id: null,
    reference: normalized.reference,
    is_anomaly: verdict.is_anomaly,
    is_fraudulent: verdict.is_anomaly,
    anomaly_score: round(verdict.anomaly_score, 6),
    risk_score: round(verdict.risk_score, 2),
    risk_level: verdict.risk_level,
    confidence: round(verdict.confidence, 4),
    shap_explanation: Object.fromEntries(Object.entries(explanation.shap).map(([k, v]) => [k, round(v, 6)])),
    shap_base_value: round(explanation.base, 6),
    risk_factors: explanation.riskFactors.map((f) => ({ ...f, contribution: round(f.contribution, 6) })),
    transaction: normalized.transaction,
    data_source: dataSource,
    model_version: model.version,
    timestamp: now.toISOString(),
  };
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
    explanation: { shap_explanation: r.shap_explanation, shap_base_value: r.shap_base_value, risk_factors: r.risk_factors },
    model_version: r.model_version,
    source: r.data_source,
    batch_id: batchId,
  };
}
