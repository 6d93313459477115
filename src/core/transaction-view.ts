import type { Feedback, StoredTransaction } from '../db/store.js';

/**
 * A stored transaction as the HTTP API shows it: every stored column, plus the contract's names for some
 * of them (is_anomaly, shap_explanation, risk_factors, timestamp) that the browser front end reads.
 */
export function transactionView(row: StoredTransaction & { feedback?: Feedback | null }): Record<string, unknown> {
  const explanation = (row.explanation ?? {}) as { shap_explanation?: Record<string, number>; risk_factors?: unknown[] };
  const view: Record<string, unknown> = {
    ...row,
    is_anomaly: row.is_fraudulent,
    shap_explanation: explanation.shap_explanation ?? null,
    risk_factors: explanation.risk_factors ?? null,
    timestamp: row.created_at,
  };
  if (row.feedback !== undefined) view.feedback = row.feedback;
  return view;
}
