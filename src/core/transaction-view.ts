import type { Feedback, StoredTransaction } from '../db/store.js';
import type { RiskFactor } from '../model/explain.js';

/**
 * A stored transaction as the HTTP API shows it: every stored column, plus the contract's names for some
 * of them (is_anomaly, shap_explanation, risk_factors, timestamp) that the browser front end reads.
 */
export interface TransactionView extends StoredTransaction {
  is_anomaly: boolean;
  shap_explanation: Record<string, number> | null;
  risk_factors: RiskFactor[] | null;
  timestamp: string;
  feedback?: Feedback | null;
}

export function transactionView(row: StoredTransaction & { feedback?: Feedback | null }): TransactionView {
  const explanation = (row.explanation ?? {}) as {
    shap_explanation?: Record<string, number>;
    risk_factors?: RiskFactor[];
  };
  const view: TransactionView = {
    ...row,
    is_anomaly: row.is_fraudulent,
    shap_explanation: explanation.shap_explanation ?? null,
    risk_factors: explanation.risk_factors ?? null,
    timestamp: row.created_at,
  };
  if (row.feedback !== undefined) view.feedback = row.feedback;
  return view;
}
