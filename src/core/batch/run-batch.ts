import { createReadStream, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { IsolationForestModel } from '../../model/model.js';
import { SecureflowError } from '../errors.js';
import { csvChunks, type CsvChunk } from './csv-chunks.js';
import type { CsvDialect } from './dialect.js';
import { inlineExecutor, workerPool, type ChunkExecutor, type StoreBatch } from './executors.js';
import { carriedNames, csvHeader, tableHeader, type BatchFormat } from './output-format.js';
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
  output: Writable;
  stdin?: Readable;
  /** Stores each chunk's rows (whole chunks, in input order) and returns their ids; null: store nothing. */
  store: ((batch: ScoredBatch) => Promise<Float64Array>) | null;
  /** `store` writes synchronously on this thread (SQLite), so this thread counts as a busy core (see below). */
  storeBlocks?: boolean;
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
  elapsedMs: number;
  sampleErrors: (RowError & { file: string })[];
  /** Where --strict stopped, if it did. */
  stoppedAt: (RowError & { file: string }) | null;
  interrupted: boolean;
}

const DEFAULT_CHUNK_BYTES = 1 << 20;
/** Below this, worker threads cost more to start than they save. */
const WORKER_MIN_BYTES = 4 << 20;

/**
 * Scores CSV inputs into `output`, streaming: memory is bounded by chunk size times jobs in flight,
 * whatever the input size. Every input record gives one output row, in input order.
 */
export async function runBatch(o: BatchOptions): Promise<BatchSummary> {
  const started = performance.now();
  const sizes = o.inputs.map((path) => (path === '-' ? 0 : fileSize(path)));
  const total = sizes.reduce((a, b) => a + b, 0);
  const withFile = o.inputs.length > 1;
  const dialect = o.dialect ?? {};
  const derived = dialect.derived ?? 'reject';
  const settings: ChunkSettings = {
    format: o.format, explain: o.explain, strict: o.strict, color: o.color, withIds: o.withIds ?? o.store !== null, withFile,
    decimal: dialect.decimal ?? '.', derived, warnings: derived === 'warn',
  };
  // Several inputs make one stream with one header: every input's header is read first (stdin's first chunk is
  // kept for its turn), and each file's columns are placed under the union of them all.
  const opened = new Map<string, AsyncGenerator<CsvChunk>>();
  const firstChunks = new Map<string, CsvChunk>();
  let union: string[] | null = null;
  if (withFile) {
    const headers: string[][] = [];
    for (const path of o.inputs) {
      if (path === '-') {
        const gen = csvChunks(o.stdin ?? process.stdin, 'stdin', o.chunkBytes ?? DEFAULT_CHUNK_BYTES, [], dialect);
        const first = await gen.next();
        opened.set(path, gen);
        if (!first.done) firstChunks.set(path, first.value);
        headers.push(first.done ? [] : first.value.header);
      } else headers.push(await readHeader(path, dialect));
    }
    union = unionOf(headers);
  }
  const layoutOf = (header: string[], file: string): ColumnLayout => {
    const columns = union ?? header;
    const names = carriedNames(columns);
    if (!union) return { names, positions: null, file };
    const keys = columnKeys(header);
    const positions = Int32Array.from(columnKeys(union), (key) => keys.indexOf(key));
    const same = positions.length === header.length && positions.every((p, i) => p === i);
    return { names, positions: same ? null : positions, file };
  };
  const big = total === 0 || total >= WORKER_MIN_BYTES;
  // Storing into SQLite keeps this thread busy (synchronous writes), so it counts as one of the cores: cores - 1
  // scoring workers, none on 2 cores: 1M rows then peak at 165-175 MB instead of 285 MB, for ~2.4x the --no-store
  // time instead of ~1.9x (bench/sections/storage.mjs). Into Postgres this thread mostly waits for the server and
  // all cores score (15 s against 21 s for 1M rows here, at ~300 MB). --workers still decides when given.
  const busy = o.store !== null && !o.executor && o.storeBlocks === true;
  const workers = o.workers ?? (big ? availableParallelism() - (busy ? 1 : 0) : 1);
  const executor: ChunkExecutor = o.executor
    ? o.executor(settings)
    : workers > 1 ? workerPool(workers, o.modelText, o.threshold, settings) : inlineExecutor(o.model!, settings);
  const summary: BatchSummary = { rows: 0, flagged: 0, errors: 0, warned: 0, stored: 0, elapsedMs: 0, sampleErrors: [], stoppedAt: null, interrupted: false };
  const store = o.store ? storeInOrder(o.store) : null;
  const write = async (data: string | Uint8Array): Promise<void> => {
    if (data.length > 0 && !o.output.write(data)) await drained(o.output);
  };

  let bytesDone = 0;
  let wroteJsonRow = false;
  let seq = 0; // across files: the order chunks are stored and written in
  if (o.format === 'json') await write('[\n');
  const headerText = (names: string[]): string =>
    o.format === 'csv' ? csvHeader(names, settings) : o.format === 'table' ? tableHeader(names, settings) : '';
  if (union) await write(headerText(carriedNames(union)));
  try {
    for (const path of o.inputs) {
      if (o.signal?.aborted) break;
      const file = path === '-' ? 'stdin' : path;
      const stream = opened.has(path) ? null : path === '-' ? (o.stdin ?? process.stdin) : createReadStream(path, { highWaterMark: 1 << 20 });
      const chunks = opened.get(path) ?? csvChunks(stream!, file, o.chunkBytes ?? DEFAULT_CHUNK_BYTES, [], dialect);
      let layout: ColumnLayout | null = null;
      const inflight: { promise: Promise<ChunkResult>; size: number }[] = [];

      /** Writes the oldest chunk in flight; false once --strict has stopped. */
      const drainOne = async (): Promise<boolean> => {
        const head = inflight.shift()!;
        const result = await head.promise;
        bytesDone += head.size;
        summary.rows += result.rows;
        summary.flagged += result.flagged;
        summary.warned += result.warned;
        summary.errors += result.errors;
        summary.stored += result.stored;
        for (const e of result.sampleErrors) if (summary.sampleErrors.length < 5) summary.sampleErrors.push({ ...e, file });
        if (o.format === 'json' && result.output.length > 0) {
          if (wroteJsonRow) await write(',\n');
          wroteJsonRow = true;
        }
        await write(result.output);
        o.onProgress?.(bytesDone, total, summary.rows);
        if (result.stoppedAt) {
          summary.stoppedAt = { ...result.stoppedAt, file };
          return false;
        }
        return true;
      };

      let stopped = false;
      for await (const chunk of withFirst(firstChunks.get(path), chunks)) {
        if (!layout) {
          layout = layoutOf(chunk.header, file);
          if (!union) await write(headerText(layout.names));
        }
        const bytes = new Uint8Array(chunk.bytes.length); // a transferable copy, detached from the read buffer
        bytes.set(chunk.bytes);
        const job: ChunkJob = {
          seq: seq++, bytes, firstLine: chunk.firstLine, header: chunk.header, fields: chunk.fields, delimiter: chunk.delimiter, columns: layout,
        };
        inflight.push({ promise: executor.run(job, store), size: bytes.length });
        while (inflight.length >= executor.capacity && !stopped) stopped = !(await drainOne());
        if (stopped || o.signal?.aborted) break;
      }
      if ((stopped || o.signal?.aborted) && stream && 'destroy' in stream) stream.destroy();
      while (inflight.length > 0 && !stopped) stopped = !(await drainOne());
      if (stopped) break;
    }
  } finally {
    await executor.close();
  }
  if (o.format === 'json') await write(wroteJsonRow ? '\n]\n' : ']\n');
  summary.interrupted = Boolean(o.signal?.aborted);
  summary.elapsedMs = performance.now() - started;
  return summary;
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
    if (st.isDirectory()) throw new SecureflowError('invalid_input', `${path} is a directory, expected a CSV file`);
    return st.size;
  } catch (e) {
    if (e instanceof SecureflowError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new SecureflowError('not_found', `input file not found: ${path}`, { file: path });
    throw new SecureflowError('invalid_input', `cannot read ${path}: ${(e as Error).message}`);
  }
}

/**
 * Waits for 'drain', failing on 'error' or 'close' (a reader that left, as `| head` does, never drains), and
 * removes every listener it added: events.once left one 'error' listener per pending write on stdout.
 */
function drained(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: Error): void => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', settle);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = (): void => settle();
    const onClose = (): void => settle(Object.assign(new Error('the output was closed'), { code: 'EPIPE' }));
    stream.once('drain', onDrain);
    stream.once('close', onClose);
    stream.once('error', settle);
  });
}

/** A file's header, read on its own (the file is read again from the start when its turn comes). */
async function readHeader(path: string, dialect: CsvDialect): Promise<string[]> {
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
  try {
    for await (const chunk of csvChunks(stream, path, 1, [], dialect)) return chunk.header;
    return [];
  } finally {
    stream.destroy();
  }
}

/** Columns are the same column in two files when their names match whatever the case (the nth of a repeated name, the nth). */
function columnKeys(header: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return header.map((name) => {
    const lower = name.toLowerCase();
    const n = seen.get(lower) ?? 0;
    seen.set(lower, n + 1);
    return `${lower}\u0000${n}`;
  });
}

/** Every input's columns, in order of first appearance, named as their first file names them. */
function unionOf(headers: readonly string[][]): string[] {
  const keys = new Set<string>();
  const out: string[] = [];
  for (const header of headers) {
    columnKeys(header).forEach((key, i) => {
      if (keys.has(key)) return;
      keys.add(key);
      out.push(header[i]);
    });
  }
  return out;
}

async function* withFirst<T>(first: T | undefined, rest: AsyncGenerator<T>): AsyncGenerator<T> {
  if (first !== undefined) yield first;
  yield* rest;
}
