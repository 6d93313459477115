import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { IsolationForestModel } from '../../model/model.js';
import { SecureflowError } from '../errors.js';
import type { RuleDefinition } from '../rules/apply-rules.js';
import { batchInputs } from './batch-inputs.js';
import { BatchOutput } from './batch-output.js';
import type { CsvDialect } from './dialect.js';
import {
  DEFAULT_POOL_TUNING,
  inlineExecutor,
  workerPool,
  type ChunkExecutor,
  type PoolTuning,
  type StoreBatch,
} from './executors.js';
import { carriedNames, type BatchFormat } from './output-format.js';
import type { ChunkJob, ChunkResult, ChunkSettings, ColumnLayout, RowError, ScoredBatch } from './score-chunk.js';

export interface BatchOptions {
  /** Paths, or "-" for standard input. */
  inputs: string[];
  format: BatchFormat;
  explain: boolean;
  strict: boolean;
  color: boolean;
  /** Worker threads; `undefined` picks the machine's cores for large inputs and this thread for small ones. */
  workers: number | undefined;
  /** The model and its file's text (for worker threads); unused with `executor`. */
  model: IsolationForestModel | null;
  modelText: string;
  threshold?: number;
  /** The enabled rules of the database in reach (definitions: each thread compiles them once); [] for none. */
  rules: readonly RuleDefinition[];
  output: Writable;
  stdin?: Readable;
  /** Stores each chunk's rows (whole chunks, in input order) and returns their ids; null: store nothing. */
  store: ((batch: ScoredBatch) => Promise<Float64Array>) | null;
  /** The store writes synchronously on this thread (SQLite), blocking it for each chunk it stores. */
  storeBlocksThread?: boolean;
  /** Stops reading when aborted; chunks already read are finished, stored and written. */
  signal?: AbortSignal;
  /** Called as input is consumed: bytes so far, total bytes (0 when unknown), rows so far. */
  onProgress?: (bytes: number, total: number, rows: number) => void;
  chunkBytes?: number;
  /** Runs chunks somewhere else (a daemon); rows carry ids when `withIds`. Default: this process's threads. */
  executor?: (settings: ChunkSettings) => ChunkExecutor;
  withIds?: boolean;
  /** How the inputs are written, when not our way (delimiter, column names, decimal mark, encoding). */
  dialect?: CsvDialect;
}

export interface BatchSummary {
  rows: number;
  flagged: number;
  errors: number;
  /** Rows scored with a warning (--derived warn). */
  warned: number;
  stored: number;
  /** Scored rows by decision. */
  decisions: DecisionCounts;
  elapsedMs: number;
  sampleErrors: (RowError & { file: string })[];
  /** Where --strict stopped, if it did. */
  stoppedAt: (RowError & { file: string }) | null;
  interrupted: boolean;
}

export interface DecisionCounts {
  allow: number;
  review: number;
  block: number;
}

const DEFAULT_CHUNK_BYTES = 1 << 20;
/**
 * Storing: half-size chunks and a smaller young generation per worker, for the memory of what storing holds in
 * flight. And when the store writes on this thread (SQLite), one more job in flight: while this thread writes a
 * chunk it cannot hand the worker its next one (the worker idled ~20% of the run). 1M rows on 2 cores: SQLite
 * ~1.97x -> ~1.7x the --no-store time, peak RSS 188-197 -> 169-177 MB; Postgres peak ~195 -> ~180 MB, no slower
 * (bench/sections/storage.mjs).
 */
export const STORE_CHUNK_BYTES = 512 << 10;
const storeTuning = (writesHere: boolean): PoolTuning => ({ extraInFlight: writesHere ? 1 : 0, youngGenerationMb: 4 });
/** Below this, worker threads cost more to start than they save. */
const WORKER_MIN_BYTES = 4 << 20;

/**
 * Scores CSV inputs into `output`, streaming: memory is bounded by chunk size times jobs in flight,
 * whatever the input size. Every input record gives one output row, in input order.
 */
export async function runBatch(o: BatchOptions): Promise<BatchSummary> {
  const started = performance.now();
  const total = o.inputs.reduce((sum, path) => sum + (path === '-' ? 0 : fileSize(path)), 0);
  const dialect = o.dialect ?? {};
  const derived = dialect.derived ?? 'reject';
  const settings: ChunkSettings = {
    format: o.format,
    explain: o.explain,
    strict: o.strict,
    color: o.color,
    withIds: o.withIds ?? o.store !== null,
    withFile: o.inputs.length > 1,
    decimal: dialect.decimal ?? '.',
    derived,
    warnings: derived === 'warn',
  };
  const storing = o.store !== null;
  const chunkBytes = o.chunkBytes ?? (storing ? STORE_CHUNK_BYTES : DEFAULT_CHUNK_BYTES);
  const inputs = await batchInputs(o.inputs, o.stdin ?? process.stdin, chunkBytes, dialect);
  const big = total === 0 || total >= WORKER_MIN_BYTES;
  // Storing takes a core: SQLite writes synchronously on this thread, and a Postgres server on this machine works
  // on the COPY as hard as we score. So cores - 1 scoring workers, at least one, so that scoring overlaps writing
  // (on 2 cores: one worker scores and formats while the rows are written). A worker per core took 250-300 MB for
  // little gain; this thread scoring a share of the chunks while SQLite left it time was no faster and took
  // ~20 MB more (bench/sections/storage.mjs; figures in the README). --workers still decides when given (1:
  // everything on this thread).
  const busy = storing && !o.executor;
  const workers = o.workers ?? (big ? Math.max(1, availableParallelism() - (busy ? 1 : 0)) : 1);
  const pooled = o.workers === undefined ? big && (workers > 1 || busy) : workers > 1;
  const executor: ChunkExecutor = o.executor
    ? o.executor(settings)
    : pooled
      ? workerPool(
          workers,
          o.modelText,
          o.threshold,
          settings,
          o.rules,
          storing ? storeTuning(Boolean(o.storeBlocksThread)) : DEFAULT_POOL_TUNING,
        )
      : inlineExecutor(o.model!, settings, o.rules);
  const store = o.store ? storeInOrder(o.store) : null;
  const output = new BatchOutput(o.output, o.format, settings);
  const totals = new BatchTotals(total, o.onProgress);
  let seq = 0; // across files: the order chunks are stored and written in
  await output.start();
  if (inputs.union) await output.header(carriedNames(inputs.union));
  try {
    for (const path of o.inputs) {
      if (o.signal?.aborted) break;
      const input = inputs.open(path);
      let layout: ColumnLayout | null = null;
      const inflight: { promise: Promise<ChunkResult>; size: number }[] = [];
      /** Writes the oldest chunk in flight; false once --strict has stopped. */
      const drainOne = async (): Promise<boolean> => {
        const head = inflight.shift()!;
        const result = await head.promise;
        await output.rows(result.output);
        return totals.add(result, head.size, input.file);
      };

      let stopped = false;
      for await (const chunk of input.chunks) {
        if (!layout) {
          layout = inputs.layoutOf(chunk.header, input.file);
          if (!inputs.union) await output.header(layout.names);
        }
        const bytes = new Uint8Array(chunk.bytes.length); // a transferable copy, detached from the read buffer
        bytes.set(chunk.bytes);
        const job: ChunkJob = {
          seq: seq++,
          bytes,
          firstLine: chunk.firstLine,
          header: chunk.header,
          fields: chunk.fields,
          delimiter: chunk.delimiter,
          columns: layout,
        };
        inflight.push({ promise: executor.run(job, store), size: bytes.length });
        while (inflight.length >= executor.capacity && !stopped) stopped = !(await drainOne());
        if (stopped || o.signal?.aborted) break;
      }
      if (stopped || o.signal?.aborted) input.stream?.destroy();
      while (inflight.length > 0 && !stopped) stopped = !(await drainOne());
      if (stopped) break;
    }
  } finally {
    await executor.close();
  }
  await output.end();
  return { ...totals.summary, interrupted: Boolean(o.signal?.aborted), elapsedMs: performance.now() - started };
}

/** The run's counts so far, chunk by chunk, in input order. */
class BatchTotals {
  readonly summary: BatchSummary = {
    rows: 0,
    flagged: 0,
    errors: 0,
    warned: 0,
    stored: 0,
    decisions: { allow: 0, review: 0, block: 0 },
    elapsedMs: 0,
    sampleErrors: [],
    stoppedAt: null,
    interrupted: false,
  };
  private bytes = 0;

  constructor(
    private readonly totalBytes: number,
    private readonly onProgress: BatchOptions['onProgress'],
  ) {}

  /** Counts a written chunk; false when --strict stopped in it. */
  add(result: ChunkResult, size: number, file: string): boolean {
    const s = this.summary;
    this.bytes += size;
    s.rows += result.rows;
    s.flagged += result.flagged;
    s.warned += result.warned;
    s.errors += result.errors;
    s.stored += result.stored;
    s.decisions.allow += result.decisions[0];
    s.decisions.review += result.decisions[1];
    s.decisions.block += result.decisions[2];
    for (const e of result.sampleErrors) if (s.sampleErrors.length < 5) s.sampleErrors.push({ ...e, file });
    this.onProgress?.(this.bytes, this.totalBytes, s.rows);
    if (!result.stoppedAt) return true;
    s.stoppedAt = { ...result.stoppedAt, file };
    return false;
  }
}

/**
 * Chunks finish scoring in any order across workers; this stores them strictly in input order (so ids
 * follow the file), one chunk at a time, and stores nothing after a chunk where --strict stopped.
 */
function storeInOrder(store: (batch: ScoredBatch) => Promise<Float64Array>): StoreBatch {
  let next = 0;
  let halted = false;
  const waiting = new Map<number, () => void>();
  return async (batch) => {
    if (batch.seq !== next) await new Promise<void>((resolve) => waiting.set(batch.seq, resolve));
    try {
      if (halted) return null;
      halted = batch.stopped;
      return await store(batch);
    } catch (e) {
      halted = true;
      throw e;
    } finally {
      next++;
      waiting.get(next)?.();
      waiting.delete(next);
    }
  };
}

function fileSize(path: string): number {
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new SecureflowError('invalid', `${path} is a directory, expected a CSV file`);
    return st.size;
  } catch (e) {
    if (e instanceof SecureflowError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new SecureflowError('not_found', `input file not found: ${path}`, { file: path });
    throw new SecureflowError('invalid', `cannot read ${path}: ${(e as Error).message}`);
  }
}
