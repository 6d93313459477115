/**
 * The daemon's answers in the shapes local mode prints, so `--remote` output matches local output.
 */
import type { ScoreResult } from '../core/scored-views.js';
import type { FeedbackResult, PredictResult, TransactionDetail, TransactionPage } from '../daemon/contract/shapes.js';
import { TRANSACTION_COLUMNS } from '../db/shared.js';
import type {
  Feedback,
  FeedbackHistoryEntry,
  RecordedFeedback,
  StoredTransaction,
  TransactionQuery,
} from '../db/store.js';
import type { RiskLevel } from '../model/explain.js';
import type { RemoteClient } from './remote-client.js';

function storedOf(view: Record<string, unknown>): StoredTransaction {
  return Object.fromEntries(TRANSACTION_COLUMNS.map((c) => [c, view[c] ?? null])) as unknown as StoredTransaction;
}

/** The daemon answers at most this many rows a request: larger --limit values are fetched a page at a time. */
const REMOTE_PAGE = 1000;

export async function remoteList(
  client: RemoteClient,
  q: TransactionQuery,
): Promise<{ rows: StoredTransaction[]; total: number }> {
  const rows: StoredTransaction[] = [];
  let offset = q.offset ?? 0;
  let total = 0;
  for (;;) {
    const want = Math.min(REMOTE_PAGE, q.limit - rows.length);
    const params = new URLSearchParams({ limit: String(want), offset: String(offset) });
    if (q.anomaliesOnly) params.set('anomalies', 'true');
    if (q.since) params.set('since', q.since.toISOString());
    if (q.batchId) params.set('batch_id', q.batchId);
    const data = await client.request<TransactionPage>('GET', `/api/transactions?${params}`);
    const page = data.transactions.map(storedOf);
    rows.push(...page);
    total = data.pagination.total;
    offset += page.length;
    if (page.length < want || rows.length >= q.limit) return { rows, total };
  }
}

/** A score result from a daemon's answer (predict, or a stored transaction's view). */
export function resultOf(view: PredictResult | TransactionDetail): ScoreResult {
  return {
    transaction_id: 'id' in view ? view.id : view.transaction_id, // a stored row's id, or predict's
    reference: view.reference ?? null,
    is_anomaly: view.is_anomaly,
    is_fraudulent: view.is_fraudulent ?? view.is_anomaly,
    anomaly_score: view.anomaly_score,
    risk_score: view.risk_score,
    risk_level: view.risk_level as RiskLevel, // stored rows type it as a string
    confidence: view.confidence,
    shap_explanation: view.shap_explanation ?? {},
    shap_base_value: view.shap_base_value ?? 0,
    risk_factors: view.risk_factors ?? [],
    transaction: {
      amount: view.amount,
      hour: view.hour,
      day_of_week: view.day_of_week,
      merchant_category: view.merchant_category,
      transaction_type: view.transaction_type,
    },
    data_source: 'id' in view ? view.source : view.data_source,
    model_version: view.model_version,
    timestamp: view.timestamp,
  };
}

export async function remoteShow(
  client: RemoteClient,
  id: number,
): Promise<{
  row: StoredTransaction & { feedback: Feedback | null };
  result: ScoreResult;
  history: FeedbackHistoryEntry[];
}> {
  const view = await client.request<TransactionDetail>('GET', `/api/transactions/${id}`);
  const feedback = view.feedback ? { ...view.feedback, recorded_by: view.feedback.recorded_by ?? null } : null;
  return { row: { ...storedOf(view), feedback }, result: resultOf(view), history: view.feedback_history ?? [] };
}

export async function remoteFeedback(
  client: RemoteClient,
  id: number,
  isCorrect: boolean,
  notes: string | null,
): Promise<Feedback | RecordedFeedback> {
  const r = await client.request<FeedbackResult>('POST', '/api/feedback', {
    json: { transaction_id: id, is_correct: isCorrect, notes },
  });
  const feedback: Feedback = {
    id: r.id,
    transaction_id: r.transaction_id,
    is_correct: r.is_correct,
    notes: r.notes,
    created_at: r.created_at,
    updated_at: r.updated_at,
    recorded_by: r.recorded_by ?? null, // daemons before user accounts omit it
  };
  // `previous` (the verdict this one replaced) comes from daemons that keep feedback history; older ones omit it.
  if (!('previous' in r)) return feedback;
  const previous =
    r.previous === null
      ? null
      : {
          is_correct: r.previous.feedback,
          notes: r.previous.notes,
          recorded_by: r.previous.recorded_by ?? null,
          recorded_at: r.previous.recorded_at,
        };
  return { ...feedback, previous };
}
