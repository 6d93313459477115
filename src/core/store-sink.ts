import { randomUUID } from 'node:crypto';
import type { NewTransaction, Store } from '../db/store.js';
import { riskLevel } from '../model/explain.js';
import { FEATURE_COUNT, FEATURES } from '../model/features.js';
import type { IsolationForestModel } from '../model/model.js';
import type { ScoredBatch } from './batch/score-chunk.js';
import { round } from './score-transaction.js';

/** Writes scored chunks to a store, one database transaction per chunk, tagged with one batch id per run. */
export interface StoreSink {
  readonly batchId: string;
  stored: number;
  store(batch: ScoredBatch): Promise<Float64Array>;
}

export function newBatchId(): string {
  return randomUUID();
}

export function storeSink(
  store: Store,
  model: IsolationForestModel,
  source: string,
  batchId = newBatchId(),
): StoreSink {
  const sink: StoreSink = {
    batchId,
    stored: 0,
    async store(batch) {
      const thresholdRisk = model.thresholdRisk;
      // Made one at a time as the store reads them (see TransactionRows): short-lived, never a whole chunk at once.
      const at = (v: number): NewTransaction | undefined => {
        if (v < 0 || v >= batch.count) return undefined;
        const f = v * FEATURE_COUNT;
        const isAnomaly = batch.isAnomaly[v] === 1;
        return {
          reference: batch.references?.[v] ?? null,
          amount: batch.features[f],
          hour: batch.features[f + 1],
          day_of_week: batch.features[f + 2],
          merchant_category: batch.features[f + 3],
          transaction_type: batch.features[f + 4],
          is_fraudulent: isAnomaly,
          anomaly_score: round(batch.anomalyScore[v], 6),
          risk_score: round(batch.riskScore[v], 2),
          risk_level: riskLevel(batch.riskScore[v], thresholdRisk, isAnomaly),
          confidence: round(batch.confidence[v], 4),
          explanation: batch.shap
            ? { shap_explanation: Object.fromEntries(FEATURES.map((name, j) => [name, round(batch.shap![f + j], 6)])) }
            : null,
          model_version: model.version,
          source,
          batch_id: batchId,
        };
      };
      const ids = await store.insertTransactions({ length: batch.count, at });
      sink.stored += ids.length;
      return Float64Array.from(ids);
    },
  };
  return sink;
}
