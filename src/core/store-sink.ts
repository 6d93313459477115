import { randomUUID } from 'node:crypto';
import type { Store } from '../db/store.js';
import type { IsolationForestModel } from '../model/model.js';
import type { ScoredBatch } from './batch/score-chunk.js';
import { scoredTransactionAt, type ScoredTransaction } from './scored-transaction.js';
import { toNewTransaction } from './scored-views.js';

/** Writes scored chunks to a store, one database transaction per chunk, tagged with one batch id per run. */
export interface StoreSink {
  readonly batchId: string;
  stored: number;
  /**
   * Stores a block's rows; `scored` gives row v as a scored transaction when the caller already made them, and
   * `explanationJson` its explanation as JSON text when the caller serialised it already.
   */
  store(
    batch: ScoredBatch,
    scored?: (v: number) => ScoredTransaction,
    explanationJson?: (v: number) => string | undefined,
    /** The block's rows are still being made: TransactionRows.ready. */
    ready?: (count: number) => Promise<number>,
  ): Promise<Float64Array>;
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
  const origin = { source, batchId };
  const sink: StoreSink = {
    batchId,
    stored: 0,
    async store(batch, scored = (v) => scoredTransactionAt(model, batch, v), explanationJson = () => undefined, ready) {
      // Made one at a time as the store reads them (see TransactionRows): short-lived, never a whole chunk at once.
      const at = (v: number) =>
        v < 0 || v >= batch.count ? undefined : toNewTransaction(scored(v), origin, explanationJson(v));
      const ids = await store.insertTransactions({ length: batch.count, at, ready });
      sink.stored += ids.length;
      return Float64Array.from(ids);
    },
  };
  return sink;
}
