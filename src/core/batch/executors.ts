import { Worker } from 'node:worker_threads';
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

/** What a worker starts with: the model's text, the run's settings and the rules' definitions (it compiles them). */
export interface WorkerInit {
  modelText: string;
  threshold?: number;
  settings: ChunkSettings;
  rules: readonly RuleDefinition[];
}

/** Messages to a worker, and back (see worker.ts). */
export type ToWorker =
  | { kind: 'score'; job: ChunkJob; store: boolean }
  | { kind: 'ids'; seq: number; ids: Float64Array | null };
export type FromWorker = { kind: 'scored'; batch: ScoredBatch } | { kind: 'done'; result: ChunkResult };

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
  const url = new URL('./worker.js', import.meta.url);
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
    // Small heaps: the work is streaming, and the default heap sizing let RSS grow past 400 MB for nothing.
    // stdout/stderr not piped into ours: Node adds listeners to process.stdout per piped worker, which warned
    // (MaxListenersExceeded) with 9+ workers. Workers print nothing; anything on their stderr is passed on.
    const w = new Worker(url, {
      workerData: { modelText, threshold, settings, rules } satisfies WorkerInit,
      resourceLimits: { maxYoungGenerationSizeMb: tuning.youngGenerationMb, maxOldGenerationSizeMb: 64 },
      stdout: true,
      stderr: true,
    });
    w.stdout.resume();
    w.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    w.on('message', (msg: FromWorker) => {
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
