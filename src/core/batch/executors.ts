import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { FEATURE_COUNT } from '../../model/features.js';
import type { IsolationForestModel } from '../../model/model.js';
import { compileRules, type RuleDefinition } from '../rules/apply-rules.js';
import {
  formatChunk,
  scoreChunkRows,
  type ChunkJob,
  type ChunkResult,
  type ChunkSettings,
  type ScoredBatch,
} from './score-chunk.js';

/** Stores a chunk's scored rows and gives back their ids (or null when it stored nothing). */
export type StoreBatch = (batch: ScoredBatch) => Promise<Float64Array | null>;

/** Runs chunk jobs: in this thread, or on a pool of worker threads. */
export interface ChunkExecutor {
  /** How many jobs may be in flight at once. */
  readonly capacity: number;
  /** Scores a chunk; with `store`, stores its rows between scoring and formatting so rows carry their ids. */
  run(job: ChunkJob, store: StoreBatch | null): Promise<ChunkResult>;
  close(): Promise<void>;
}

export function inlineExecutor(
  model: IsolationForestModel,
  settings: ChunkSettings,
  rules: readonly RuleDefinition[],
): ChunkExecutor {
  const compiled = compileRules(rules); // once per run, then evaluated per row
  return {
    capacity: 1,
    async run(job, store) {
      const chunk = scoreChunkRows(model, job, settings, compiled);
      const ids = store ? await store(chunk.batch) : null;
      return formatChunk(model, chunk, settings, ids);
    },
    close: async () => {},
  };
}

/** Messages to a worker, and back (see worker.ts). */
export type ToWorker =
  | { kind: 'score'; job: ChunkJob; store: boolean }
  | { kind: 'ids'; seq: number; ids: Float64Array | null }
  | { kind: 'rows'; seq: number; features: Float64Array; count: number; explain: boolean };
export type FromWorker =
  | { kind: 'scored'; batch: ScoredBatch }
  | { kind: 'done'; result: ChunkResult }
  | { kind: 'rows'; batch: ScoredBatch; texts: ExplanationTexts | null };

/**
 * What a worker is started with: the model as text (parsed there), and for the CLI's chunk jobs the run's settings
 * and the rules' definitions (compiled there once). The daemon's row jobs need neither: it applies rules itself.
 */
export interface WorkerData {
  modelText: string;
  threshold: number | undefined;
  settings?: ChunkSettings;
  rules: readonly RuleDefinition[];
}

/** The worker's script, beside this module once built (the bundle, or tsc's output). */
const WORKER_SCRIPT = new URL('./worker.js', import.meta.url);

/** False when running from the TypeScript sources (in-process tests): there is no worker script to start. */
export const workersAvailable = (): boolean => existsSync(WORKER_SCRIPT);

/**
 * One worker thread of a pool. Small heaps: the work is streaming, and the default heap sizing let RSS grow past
 * 400 MB for nothing. stdout/stderr not piped into ours: Node adds listeners to process.stdout per piped worker,
 * which warned (MaxListenersExceeded) with 9+ workers. Workers print nothing; anything on their stderr is passed on.
 */
function startWorker(data: WorkerData, youngGenerationMb: number): Worker {
  const w = new Worker(WORKER_SCRIPT, {
    workerData: data,
    resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb, maxOldGenerationSizeMb: 64 },
    stdout: true,
    stderr: true,
  });
  w.stdout.resume();
  w.stderr.on('data', (d: Buffer) => process.stderr.write(d));
  return w;
}

/** How a pool is sized beyond its worker count (see runBatch for the figures behind each). */
export interface PoolTuning {
  /** Jobs in flight beyond two per worker. */
  extraInFlight: number;
  /** Each worker's young generation. */
  youngGenerationMb: number;
}

export const DEFAULT_POOL_TUNING: PoolTuning = { extraInFlight: 0, youngGenerationMb: 8 };

export function workerPool(
  size: number,
  modelText: string,
  threshold: number | undefined,
  settings: ChunkSettings,
  rules: readonly RuleDefinition[],
  tuning: PoolTuning = DEFAULT_POOL_TUNING,
): ChunkExecutor {
  const idle: Worker[] = [];
  const waiting: ((w: Worker) => void)[] = [];
  const jobs = new Map<
    number,
    { resolve: (r: ChunkResult) => void; reject: (e: Error) => void; store: StoreBatch | null }
  >();
  const workers: Worker[] = [];
  const release = (w: Worker): void => {
    const next = waiting.shift();
    if (next) next(w);
    else idle.push(w);
  };
  const fail = (err: Error): void => {
    for (const job of jobs.values()) job.reject(err);
    jobs.clear();
  };
  for (let i = 0; i < size; i++) {
    const w = startWorker({ modelText, threshold, settings, rules }, tuning.youngGenerationMb);
    w.on('message', (msg: FromWorker) => {
      if (msg.kind === 'rows') return;
      if (msg.kind === 'scored') {
        // The worker is free for another chunk while this one is stored; it formats this one when the ids come.
        release(w);
        const job = jobs.get(msg.batch.seq)!;
        // Stored on the next turn: a SQLite store runs synchronously, and the worker's next chunk (handed over by
        // release's promise) must be posted first, or the worker idles while this thread writes.
        setImmediate(() =>
          job.store!(msg.batch).then(
            (ids) => w.postMessage({ kind: 'ids', seq: msg.batch.seq, ids } satisfies ToWorker),
            (err: Error) => {
              jobs.delete(msg.batch.seq);
              job.reject(err);
            },
          ),
        );
        return;
      }
      const job = jobs.get(msg.result.seq);
      jobs.delete(msg.result.seq);
      if (!job?.store) release(w);
      job?.resolve(msg.result);
    });
    w.on('error', fail);
    workers.push(w);
    idle.push(w);
  }
  const acquire = (): Promise<Worker> => {
    const w = idle.pop();
    return w ? Promise.resolve(w) : new Promise((resolve) => waiting.push(resolve));
  };
  return {
    capacity: size * 2 + tuning.extraInFlight,
    async run(job, store) {
      const w = await acquire();
      return new Promise<ChunkResult>((resolve, reject) => {
        jobs.set(job.seq, { resolve, reject, store });
        w.postMessage({ kind: 'score', job, store: store !== null } satisfies ToWorker, [
          job.bytes.buffer as ArrayBuffer,
        ]);
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/**
 * Each explained row's explanation as JSON text (explanationText), written on the worker rather than on the daemon's
 * main thread: one string, all rows' parts in order, and where each part ends (the shap part of row k ends at
 * ends[2k], its risk factors at ends[2k + 1]). One string crosses threads as one copy; a string per part took
 * ~35 ms to clone for 10,000 rows.
 */
export interface ExplanationTexts {
  text: string;
  ends: Int32Array;
}

/** Rows scored on a worker, with their explanations' text when explained. */
export interface ScoredRows {
  batch: ScoredBatch;
  texts: ExplanationTexts | null;
}

/** Scores (and explains) rows already read, on worker threads: the daemon's large batches (predict-batch). */
export interface RowScorer {
  /**
   * Rows `features` (raw, FEATURES order, `count` of them) scored on a free worker: the same numbers as
   * scoreFeatureRows in this thread, to the bit. The features are copied; the caller keeps its array.
   */
  score(features: Float64Array, count: number, explain: boolean): Promise<ScoredRows>;
  /** A worker failed (out of memory, say): its jobs were rejected, and the pool takes no more. */
  readonly failed: boolean;
  close(): Promise<void>;
}

export function rowScorerPool(size: number, modelText: string, threshold: number | undefined): RowScorer {
  const queue: { seq: number; features: Float64Array; count: number; explain: boolean }[] = [];
  const pending = new Map<number, { resolve: (r: ScoredRows) => void; reject: (e: Error) => void }>();
  const idle: Worker[] = [];
  const workers: Worker[] = [];
  let seq = 0;
  let failed = false;
  const next = (w: Worker): void => {
    const job = queue.shift();
    if (!job) {
      idle.push(w);
      return;
    }
    w.postMessage({ kind: 'rows', ...job } satisfies ToWorker, [job.features.buffer as ArrayBuffer]);
  };
  for (let i = 0; i < size; i++) {
    const w = startWorker({ modelText, threshold, rules: [] }, DEFAULT_POOL_TUNING.youngGenerationMb);
    w.unref(); // an idle pool never keeps the process alive (the daemon closes it on shutdown)
    w.on('message', (msg: FromWorker) => {
      if (msg.kind !== 'rows') return;
      const job = pending.get(msg.batch.seq)!;
      pending.delete(msg.batch.seq);
      next(w);
      job.resolve({ batch: msg.batch, texts: msg.texts });
    });
    w.on('error', (err: Error) => {
      failed = true;
      for (const job of pending.values()) job.reject(err);
      pending.clear();
      queue.length = 0;
    });
    workers.push(w);
    idle.push(w);
  }
  return {
    get failed() {
      return failed;
    },
    score(features, count, explain) {
      if (failed) return Promise.reject(new Error('the scoring workers have failed'));
      return new Promise<ScoredRows>((resolve, reject) => {
        const job = { seq: seq++, features: features.slice(0, count * FEATURE_COUNT), count, explain };
        pending.set(job.seq, { resolve, reject });
        queue.push(job);
        const w = idle.pop();
        if (w) next(w);
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
