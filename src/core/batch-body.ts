/**
 * A batch request's body (POST /api/predict-batch), whole: read from JSON or a CSV stream into a ReadBatch (bad rows
 * kept by position), then scored in slices and stored, one BatchItem per input. The CLI's streaming CSV pipeline is
 * batch/ instead.
 */
import { RowsAbandoned, type Store } from '../db/store.js';
import { FEATURE_COUNT } from '../model/features.js';
import type { IsolationForestModel } from '../model/model.js';
import { readReference, readTransaction, type FieldError } from '../model/transaction.js';
import { Readable } from 'node:stream';
import { csvChunks } from './batch/csv-chunks.js';
import { parseRecords } from './batch/csv-records.js';
import type { ExplanationTexts, RowScorer, ScoredRows } from './batch/executors.js';
import type { ScoredBatch } from './batch/score-chunk.js';
import { scoreFeatureRows } from './batch/score-features.js';
import {
  explanationJson,
  explanationText,
  scoredTransactionAt,
  type ExplanationText,
  type ScoredTransaction,
} from './scored-transaction.js';
import { batchItemText, type BatchItem } from './scored-views.js';
import type { CompiledRule } from './rules/apply-rules.js';
import { applyRulesToBatch, LEGACY_FIELDS, legacyFieldsOf, type LegacyFields } from './rules/batch-rules.js';
import { storeSink } from './store-sink.js';

export interface ReadBatch {
  features: Float64Array;
  count: number;
  references: (string | null)[];
  /** Input position of each valid row. */
  inputIndex: Int32Array;
  errors: Map<number, FieldError>;
  /** CSV input: each input's 1-based file line (the header is line 1). */
  lines?: Int32Array;
  /** Each valid row's legacy merchant/category/type, for rules (null where it had none). */
  legacy: (LegacyFields | null)[];
}

/** Reads JSON transactions (canonical or legacy); bad ones are reported by index, the rest kept in order. */
export function readJsonTransactions(inputs: readonly unknown[]): ReadBatch {
  const features = new Float64Array(inputs.length * FEATURE_COUNT);
  const references: (string | null)[] = [];
  const legacy: (LegacyFields | null)[] = [];
  const inputIndex = new Int32Array(inputs.length);
  const errors = new Map<number, FieldError>();
  let count = 0;
  inputs.forEach((input, i) => {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      errors.set(i, { field: 'transaction', reason: 'must be a JSON object' });
      return;
    }
    const record = input as Record<string, unknown>;
    const get = (name: string): unknown => (Object.hasOwn(record, name) ? record[name] : undefined);
    const error = readTransaction(get, features, count * FEATURE_COUNT);
    if (error) errors.set(i, error);
    else {
      references.push(readReference(get));
      legacy.push(LEGACY_FIELDS.some((f) => Object.hasOwn(record, f)) ? legacyFieldsOf(get) : null);
      inputIndex[count++] = i;
    }
  });
  return { features, count, references, inputIndex, errors, legacy };
}

/** More rows than the caller allows: raised while reading, so the rest of the input is never parsed. */
export class TooManyRows extends Error {
  override name = 'TooManyRows';
  constructor(readonly limit: number) {
    super(`more than ${limit} rows`);
  }
}

/** Chunks this size are parsed between reads, so one large body never holds the event loop for long. */
const CSV_CHUNK_BYTES = 64 * 1024;

/**
 * Reads a CSV stream (header first, canonical or legacy columns; extra columns ignored) the same way as
 * `secureflow score FILE`: a row's error names its line and field. `strict` stops at the first bad row.
 * Rows are counted as they arrive: past `maxRows` it throws TooManyRows without reading further.
 */
export async function readCsvTransactions(
  input: string | AsyncIterable<Buffer>,
  opts: { strict?: boolean; maxRows?: number } = {},
): Promise<ReadBatch> {
  const maxRows = opts.maxRows ?? Number.MAX_SAFE_INTEGER;
  const stream = typeof input === 'string' ? Readable.from([Buffer.from(input, 'utf8')]) : Readable.from(input);
  let features = new Float64Array(1024 * FEATURE_COUNT);
  let inputIndex = new Int32Array(1024);
  let lines = new Int32Array(1024);
  const references: (string | null)[] = [];
  const legacy: (LegacyFields | null)[] = [];
  const errors = new Map<number, FieldError>();
  let count = 0;
  let total = 0;
  let stopped = false;
  for await (const chunk of csvChunks(stream, 'CSV body', CSV_CHUNK_BYTES)) {
    if (stopped) continue; // --strict after a bad row: the rest is read (the body must be consumed) but not parsed
    const rows = parseRecords(chunk.bytes.toString('utf8'), chunk.firstLine);
    if (total + rows.count > maxRows) throw new TooManyRows(maxRows);
    if (total + rows.count > lines.length) {
      const capacity = Math.max(lines.length * 2, total + rows.count);
      features = grown(features, capacity * FEATURE_COUNT);
      inputIndex = grown(inputIndex, capacity);
      lines = grown(lines, capacity);
    }
    const header = chunk.header;
    const index = new Map<string, number>();
    header.forEach((name, i) => {
      if (!index.has(name.toLowerCase())) index.set(name.toLowerCase(), i);
    });
    const hasLegacy = LEGACY_FIELDS.some((f) => index.has(f));
    for (let r = 0; r < rows.count; r++) {
      const at = total++;
      const cells = rows.cells(r);
      lines[at] = rows.line(r);
      const get = (name: string): string | undefined => {
        const i = index.get(name);
        return i === undefined ? undefined : cells[i];
      };
      const error =
        cells.length !== header.length
          ? { field: 'row', reason: `has ${cells.length} fields, the header has ${header.length}` }
          : readTransaction(get, features, count * FEATURE_COUNT);
      if (error) {
        errors.set(at, error);
        if (opts.strict) {
          stopped = true; // --strict: nothing after the first bad row is scored or stored
          break;
        }
      } else {
        references.push(readReference(get));
        legacy.push(hasLegacy ? legacyFieldsOf(get) : null);
        inputIndex[count++] = at;
      }
    }
  }
  return {
    features: features.subarray(0, count * FEATURE_COUNT),
    count,
    references,
    inputIndex,
    errors,
    lines: lines.subarray(0, total),
    legacy,
  };
}

function grown<T extends Float64Array | Int32Array>(a: T, capacity: number): T {
  const b = new (a.constructor as new (n: number) => T)(capacity);
  b.set(a);
  return b;
}

/**
 * Scores a read batch and, with a store, stores its valid rows in one database transaction (the same
 * path as `secureflow score`). Returns one answer item per input, in input order, as JSON text.
 *
 * Each row is made as its slice comes back from scoring, while the rest of the batch is still being explained (on
 * worker threads): the scored transaction, without an explanation object, and its explanation as JSON text
 * (explanationText), which both the store and the answer item use. Once the last slice is in, the rows are stored
 * and each answer item is written with its id: the same bytes as JSON.stringify(toBatchItem(...)) of each stored
 * row (batchItemText).
 */
export async function scoreAndStore(
  model: IsolationForestModel,
  read: ReadBatch,
  total: number,
  opts: {
    explain: boolean;
    /** The daemon's enabled rules, applied to each slice as it comes back (before its rows are made). */
    rules: readonly CompiledRule[];
    store: Store | null;
    source: string;
    batchId?: string;
    /** Worker threads for the scoring and explaining (the same numbers); without them, this thread in slices. */
    workers?: RowScorer | null;
  },
): Promise<{ items: string[]; batch: ScoredBatch; batchId: string | null; scoringSeconds: number }> {
  const scored: ScoredTransaction[] = new Array(read.count);
  const explanations: (ExplanationText | null)[] = new Array(read.count);
  const made = (batch: ScoredBatch, from: number, to: number, texts: ExplanationTexts | null): void => {
    applyRulesToBatch(opts.rules, batch, model.thresholdRisk, (v) => read.legacy[v], from, to);
    // Each row made once, as the one scored-transaction shape, stored and answered from the same object; its
    // explanation straight to text, not as objects to be serialised twice (the answer and the store).
    const plain = batch.shap ? { ...batch, shap: null } : batch;
    for (let v = from; v < to; v++) {
      scored[v] = scoredTransactionAt(model, plain, v);
      const k = 2 * (v - from);
      explanations[v] = !batch.shap
        ? null
        : texts
          ? {
              shap: texts.text.slice(k === 0 ? 0 : texts.ends[k - 1], texts.ends[k]),
              factors: texts.text.slice(texts.ends[k], texts.ends[k + 1]),
            }
          : explanationText(model, batch.features, batch.shap, v);
    }
  };
  const batch = emptyBatch(read, opts.explain);
  // Stored as it is made: the insert starts now and each store takes the rows as it can (TransactionRows.ready):
  // Postgres copies each slice while the next is explained; SQLite waits for the last and writes them in one call.
  const progress = new MadeRows(read.count);
  const sink = opts.store && read.count > 0 ? storeSink(opts.store, model, opts.source, opts.batchId) : null;
  const storing = sink?.store(
    batch,
    (v) => scored[v],
    (v) => {
      const text = explanations[v];
      return text ? explanationJson(model, text) : undefined;
    },
    (count) => progress.ready(count),
  );
  storing?.catch(() => {}); // awaited below, after the scoring; a failure meanwhile is not unhandled
  const onSlice: OnSlice = (b, from, to, texts) => {
    made(b, from, to, texts);
    progress.made(to);
  };
  const onWorkers = opts.workers && read.count >= WORKER_MIN_ROWS ? opts.workers : null;
  let scoringSeconds: number;
  try {
    // A worker that fails (out of memory, killed) costs the request nothing but time: this thread scores it again.
    ({ scoringSeconds } = onWorkers
      ? await scoreOnWorkers(onWorkers, read, batch, onSlice).catch(() => scoreInSlices(model, read, batch, onSlice))
      : await scoreInSlices(model, read, batch, onSlice));
  } catch (e) {
    progress.abandon(e); // the insert stores nothing: all or nothing, as before
    await storing?.catch(() => {});
    throw e;
  }
  let batchId: string | null = null;
  if (sink && storing) {
    const ids = await storing;
    for (let v = 0; v < batch.count; v++) scored[v].transaction_id = ids[v];
    batchId = sink.batchId;
  }
  const items: string[] = new Array(total);
  for (let v = 0; v < batch.count; v++) {
    const index = read.inputIndex[v];
    items[index] = batchItemText(scored[v], index, read.lines?.[index], explanations[v]);
  }
  for (const [i, e] of read.errors) {
    const error: BatchItem = read.lines
      ? { index: i, line: read.lines[i], error: `${e.field} ${e.reason}`, field: e.field }
      : { index: i, error: `${e.field} ${e.reason}`, field: e.field };
    items[i] = JSON.stringify(error);
  }
  return { items, batch, batchId, scoringSeconds };
}

/** Rows scored (and explained) between two yields: ~50 ms of work (smaller slices cost the explanation tables speed), so health checks and small requests interleave. */
const SLICE_ROWS = 512;
/** Fewer rows are scored in this thread: a worker's round trip is not worth it. */
const WORKER_MIN_ROWS = 1024;
/** Rows per worker job: a few jobs per worker, so this thread makes the first rows while the last are explained. */
const WORKER_JOB_ROWS = 1280;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Called with each scored slice [from, to) as it is ready, in order, to make its rows meanwhile; with its rows'
 * explanation texts when a worker wrote them (ScoredRows.texts), else null.
 */
type OnSlice = (batch: ScoredBatch, from: number, to: number, texts: ExplanationTexts | null) => void;

/**
 * How many rows of a batch are made, for its insert (TransactionRows.ready): slices are made in order, so rows
 * [0, made) can be read. Scored again on this thread after a worker failed, rows are made again from the first,
 * the same ones (the same numbers), and the count never goes back.
 */
class MadeRows {
  private count = 0;
  private failed: RowsAbandoned | null = null;
  private waiting: { count: number; resolve: (n: number) => void; reject: (e: Error) => void }[] = [];

  constructor(private readonly total: number) {}

  made(to: number): void {
    if (to <= this.count) return;
    this.count = to;
    const still = [];
    for (const w of this.waiting) {
      if (Math.min(w.count, this.total) <= this.count) w.resolve(this.count);
      else still.push(w);
    }
    this.waiting = still;
  }

  ready(count: number): Promise<number> {
    if (this.failed) return Promise.reject(this.failed);
    if (Math.min(count, this.total) <= this.count) return Promise.resolve(this.count);
    return new Promise((resolve, reject) => this.waiting.push({ count, resolve, reject }));
  }

  /** The rest will never be made: waiting inserts fail (and store nothing). */
  abandon(cause: unknown): void {
    this.failed = new RowsAbandoned({ cause });
    for (const w of this.waiting) w.reject(this.failed);
    this.waiting = [];
  }
}

function emptyBatch(read: ReadBatch, explain: boolean): ScoredBatch {
  const n = read.count;
  return {
    seq: 0,
    count: n,
    features: read.features.subarray(0, n * FEATURE_COUNT),
    anomalyScore: new Float64Array(n),
    riskScore: new Float64Array(n),
    confidence: new Float64Array(n),
    isAnomaly: new Uint8Array(n),
    references: read.references,
    shap: explain ? new Float64Array(n * FEATURE_COUNT) : null,
    stopped: false,
    decisions: null,
    matchedRules: null,
    ruleErrors: null,
  };
}

/** Copies a scored slice into the whole batch's columns from row `from`. */
function place(batch: ScoredBatch, part: ScoredBatch, from: number): void {
  batch.anomalyScore.set(part.anomalyScore, from);
  batch.riskScore.set(part.riskScore, from);
  batch.confidence.set(part.confidence, from);
  batch.isAnomaly.set(part.isAnomaly, from);
  if (part.shap) batch.shap!.set(part.shap, from * FEATURE_COUNT);
}

/**
 * Scores a read batch a slice at a time, yielding to the event loop between slices: explaining 10,000 rows takes
 * over a second of CPU, which in one piece would stall every other request (and health checks) behind it.
 */
async function scoreInSlices(
  model: IsolationForestModel,
  read: ReadBatch,
  batch: ScoredBatch,
  onSlice: OnSlice,
): Promise<{ scoringSeconds: number }> {
  const n = read.count;
  const explain = batch.shap !== null;
  let cpu = 0n;
  for (let from = 0; from < n; from += SLICE_ROWS) {
    if (from > 0) await yieldToEventLoop();
    const start = process.hrtime.bigint();
    const m = Math.min(SLICE_ROWS, n - from);
    place(batch, scoreFeatureRows(model, 0, batch.features.subarray(from * FEATURE_COUNT), m, null, explain), from);
    cpu += process.hrtime.bigint() - start;
    onSlice(batch, from, from + m, null);
  }
  return { scoringSeconds: Number(cpu) / 1e9 };
}

/**
 * Scores a read batch on worker threads, every slice handed out at once: the explanations (most of a batch's CPU)
 * run on the other cores while this thread makes each slice's rows as it comes back, in order. This thread stays
 * free between slices, as with scoreInSlices. scoringSeconds is the wall time until the last slice was back.
 */
async function scoreOnWorkers(
  workers: RowScorer,
  read: ReadBatch,
  batch: ScoredBatch,
  onSlice: OnSlice,
): Promise<{ scoringSeconds: number }> {
  const n = read.count;
  const explain = batch.shap !== null;
  const start = process.hrtime.bigint();
  const jobs: { from: number; part: Promise<ScoredRows> }[] = [];
  for (let from = 0; from < n; from += WORKER_JOB_ROWS) {
    const m = Math.min(WORKER_JOB_ROWS, n - from);
    jobs.push({ from, part: workers.score(batch.features.subarray(from * FEATURE_COUNT), m, explain) });
  }
  // A failed job fails the request; the others' rejections are handled here too (never unhandled).
  for (const job of jobs) job.part.catch(() => {});
  let end = start;
  for (const { from, part } of jobs) {
    const scored = await part;
    end = process.hrtime.bigint();
    place(batch, scored.batch, from);
    onSlice(batch, from, from + scored.batch.count, scored.texts);
  }
  return { scoringSeconds: Number(end - start) / 1e9 };
}
