import type { Store } from '../db/store.js';
import { riskLevel } from '../model/explain.js';
import { FEATURE_COUNT } from '../model/features.js';
import type { IsolationForestModel } from '../model/model.js';
import { readReference, readTransaction, type FieldError } from '../model/transaction.js';
import { Readable } from 'node:stream';
import { csvChunks, type CsvChunk } from './batch/csv-chunks.js';
import { parseRecords } from './batch/csv-records.js';
import type { ScoredBatch } from './batch/score-chunk.js';
import { scoreFeatureRows } from './batch/score-features.js';
import { explanationOf, round, type ScoreResult } from './score-transaction.js';
import { storeSink } from './store-sink.js';

/** One item of a scored batch, as the HTTP contract's predict-batch returns it: a single result's scores. */
export type BatchItem =
  | (Pick<ScoreResult, 'transaction_id' | 'reference' | 'is_anomaly' | 'is_fraudulent' | 'anomaly_score' | 'risk_score' | 'risk_level' | 'confidence'> &
      Partial<Pick<ScoreResult, 'shap_explanation' | 'risk_factors'>> & { index: number; line?: number })
  | { index: number; error: string; field: string; line?: number };

export interface ReadBatch {
  features: Float64Array;
  count: number;
  references: (string | null)[];
  /** Input position of each valid row. */
  inputIndex: Int32Array;
  errors: Map<number, FieldError>;
  /** CSV input: each input's 1-based file line (the header is line 1). */
  lines?: Int32Array;
}

/** Reads JSON transactions (canonical or legacy); bad ones are reported by index, the rest kept in order. */
export function readJsonTransactions(inputs: readonly unknown[]): ReadBatch {
  const features = new Float64Array(inputs.length * FEATURE_COUNT);
  const references: (string | null)[] = [];
  const inputIndex = new Int32Array(inputs.length);
  const errors = new Map<number, FieldError>();
  let count = 0;
  inputs.forEach((input, i) => {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      errors.set(i, { field: 'transaction', reason: 'must be a JSON object' });
      return;
    }
    const record = input as Record<string, unknown>;
    const get = (name: string): unknown => (Object.prototype.hasOwnProperty.call(record, name) ? record[name] : undefined);
    const error = readTransaction(get, features, count * FEATURE_COUNT);
    if (error) errors.set(i, error);
    else {
      references.push(readReference(get));
      inputIndex[count++] = i;
    }
  });
  return { features, count, references, inputIndex, errors };
}

/**
 * Reads a CSV document (header first, canonical or legacy columns; extra columns ignored) the same way
 * as `secureflow score FILE`: a row's error names its line and field. `strict` stops at the first bad row.
 */
export async function readCsvTransactions(text: string, opts: { strict?: boolean } = {}): Promise<ReadBatch> {
  let chunk: CsvChunk | undefined;
  for await (const c of csvChunks(Readable.from([Buffer.from(text, 'utf8')]), 'CSV body', Number.MAX_SAFE_INTEGER)) chunk = c;
  const rows = parseRecords(chunk!.bytes.toString('utf8'), chunk!.firstLine);
  const header = chunk!.header;
  const index = new Map<string, number>();
  header.forEach((name, i) => {
    if (!index.has(name.toLowerCase())) index.set(name.toLowerCase(), i);
  });
  const features = new Float64Array(rows.count * FEATURE_COUNT);
  const references: (string | null)[] = [];
  const inputIndex = new Int32Array(rows.count);
  const lines = new Int32Array(rows.count);
  const errors = new Map<number, FieldError>();
  let count = 0;
  for (let r = 0; r < rows.count; r++) {
    const cells = rows.cells(r);
    lines[r] = rows.line(r);
    const get = (name: string): string | undefined => {
      const i = index.get(name);
      return i === undefined ? undefined : cells[i];
    };
    const error =
      cells.length !== header.length
        ? { field: 'row', reason: `has ${cells.length} fields, the header has ${header.length}` }
        : readTransaction(get, features, count * FEATURE_COUNT);
    if (error) {
      errors.set(r, error);
      if (opts.strict) break; // --strict: nothing after the first bad row is scored or stored
    } else {
      references.push(readReference(get));
      inputIndex[count++] = r;
    }
  }
  return { features, count, references, inputIndex, errors, lines };
}

/**
 * Scores a read batch and, with a store, stores its valid rows in one database transaction (the same
 * path as `secureflow score`). Returns one item per input, in input order.
 */
export async function scoreAndStore(
  model: IsolationForestModel,
  read: ReadBatch,
  total: number,
  opts: { explain: boolean; store: Store | null; source: string; batchId?: string },
): Promise<{ items: BatchItem[]; batch: ScoredBatch; batchId: string | null; scoringSeconds: number }> {
  const start = process.hrtime.bigint();
  const batch = scoreFeatureRows(model, 0, read.features, read.count, read.references, opts.explain);
  const scoringSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  let ids: Float64Array | null = null;
  let batchId: string | null = null;
  if (opts.store && batch.count > 0) {
    const sink = storeSink(opts.store, model, opts.source, opts.batchId);
    ids = await sink.store(batch);
    batchId = sink.batchId;
  }
  const items: BatchItem[] = new Array(total);
  for (const [i, e] of read.errors) {
    items[i] = read.lines ? { index: i, line: read.lines[i], error: `${e.field} ${e.reason}`, field: e.field } : { index: i, error: `${e.field} ${e.reason}`, field: e.field };
  }
  const thresholdRisk = model.thresholdRisk;
  for (let v = 0; v < batch.count; v++) {
    const flagged = batch.isAnomaly[v] === 1;
    const item: BatchItem = {
      index: read.inputIndex[v],
      transaction_id: ids ? ids[v] : null,
      reference: read.references[v],
      is_anomaly: flagged,
      is_fraudulent: flagged,
      anomaly_score: round(batch.anomalyScore[v], 6),
      risk_score: round(batch.riskScore[v], 2),
      risk_level: riskLevel(batch.riskScore[v], thresholdRisk, flagged),
      confidence: round(batch.confidence[v], 4),
    };
    if (read.lines) item.line = read.lines[read.inputIndex[v]];
    if (batch.shap) Object.assign(item, explanationOf(model, batch.features, batch.shap, v));
    items[read.inputIndex[v]] = item;
  }
  return { items, batch, batchId, scoringSeconds };
}
