import type { Dashboard, TransactionDetail as StoredView } from '../../daemon/contract/shapes.js';
import { remoteFeedback } from '../remote-api.js';
import { RemoteClient } from '../remote-client.js';
import type { DashboardSnapshot, DashboardSource, TransactionDetail } from './snapshot.js';

/** The dashboard over a daemon: GET /api/dashboard (the contract plus the panels' fields) and friends. */
export function remoteSource(url: string, apiKey: string | null, flagged = 20): DashboardSource {
  const client = new RemoteClient(url, apiKey);
  return {
    description: client.url, // without credentials
    async snapshot(days: number): Promise<DashboardSnapshot> {
      const data = await client.request<Dashboard>('GET', `/api/dashboard?days=${days}&buckets=48&flagged=${flagged}`);
      return { ...data, source: client.url };
    },
    async transaction(id: number): Promise<TransactionDetail> {
      const v = await client.request<StoredView>('GET', `/api/transactions/${id}`);
      return {
        id: v.id,
        created_at: v.created_at,
        source: v.source,
        transaction: {
          amount: v.amount,
          hour: v.hour,
          day_of_week: v.day_of_week,
          merchant_category: v.merchant_category,
          transaction_type: v.transaction_type,
        },
        anomaly_score: v.anomaly_score,
        risk_score: v.risk_score,
        risk_level: v.risk_level,
        is_anomaly: v.is_anomaly,
        confidence: v.confidence,
        model_version: v.model_version,
        shap_explanation: v.shap_explanation ?? {},
        risk_factors: v.risk_factors ?? [],
        feedback: v.feedback
          ? {
              is_correct: v.feedback.is_correct,
              notes: v.feedback.notes,
              updated_at: v.feedback.updated_at,
              recorded_by: v.feedback.recorded_by ?? null,
            }
          : null,
      };
    },
    async feedback(id: number, isCorrect: boolean): Promise<string | null> {
      // The same request as `secureflow feedback ID --remote URL`.
      return (await remoteFeedback(client, id, isCorrect, null)).recorded_by;
    },
    close: async () => {},
  };
}
