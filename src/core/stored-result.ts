import type { Store, StoredTransaction } from '../db/store.js';
import type { RiskLevel } from '../model/explain.js';
import { parseModel } from '../model/model-file.js';
import { IsolationForestModel } from '../model/model.js';
import { readModelText } from './model-source.js';
import { explanationOf, round, type ScoreResult } from './score-transaction.js';

/**
 * A stored row as a full score result. Its explanation is the stored one; rows stored without one (CSV runs
 * without --explain) are explained again with the model that scored them, when it is still known.
 */
export async function storedResult(store: Store, row: StoredTransaction): Promise<ScoreResult> {
  const transaction = {
    amount: row.amount,
    hour: row.hour,
    day_of_week: row.day_of_week,
    merchant_category: row.merchant_category,
    transaction_type: row.transaction_type,
  };
  const stored = (row.explanation ?? {}) as Partial<
    Pick<ScoreResult, 'shap_explanation' | 'shap_base_value' | 'risk_factors'>
  >;
  let { shap_explanation, shap_base_value, risk_factors } = stored;
  if (!shap_explanation || !risk_factors) {
    const model = await modelFor(store, row.model_version);
    if (model) {
      const raw = Float64Array.from(Object.values(transaction));
      const phi = new Float64Array(raw.length);
      model.explainRows(raw, 1, phi);
      ({ shap_explanation, risk_factors } = explanationOf(model, raw, phi, 0));
      shap_base_value = round(model.shapBaseValue, 6);
    }
  }
  return {
    transaction_id: row.id,
    reference: row.reference,
    is_anomaly: row.is_fraudulent,
    is_fraudulent: row.is_fraudulent,
    anomaly_score: row.anomaly_score,
    risk_score: row.risk_score,
    risk_level: row.risk_level as RiskLevel,
    confidence: row.confidence,
    shap_explanation: shap_explanation ?? {},
    shap_base_value: shap_base_value ?? 0,
    risk_factors: risk_factors ?? [],
    transaction,
    data_source: row.source,
    model_version: row.model_version,
    timestamp: row.created_at,
  };
}

const models = new Map<string, IsolationForestModel | null>();

async function modelFor(store: Store, version: string): Promise<IsolationForestModel | null> {
  if (models.has(version)) return models.get(version)!;
  const bundled = readModelText();
  let model: IsolationForestModel | null = null;
  if (bundled.doc.id === version) model = new IsolationForestModel(bundled.doc);
  else {
    const registered = await store.getModel(version);
    model = registered ? new IsolationForestModel(parseModel(registered.model)) : null;
  }
  if (models.size > 16) models.clear();
  models.set(version, model);
  return model;
}
