import { Worker } from 'node:worker_threads';
import type { IsolationForestModel } from '../../model/model.js';
import { scoreChunk, type ChunkJob, type ChunkResult, type ChunkSettings } from './score-chunk.js';

/** Runs chunk jobs: in this thread, or on a pool of worker threads. */
export interface ChunkExecutor {
  /** How many jobs may be in flight at once. */
  readonly capacity: number;
  run(job: ChunkJob): Promise<ChunkResult>;
  close(): Promise<void>;
}

export function inlineExecutor(model: IsolationForestModel, settings: ChunkSettings): ChunkExecutor {
  return {
    capacity: 1,
    run: async (job) => scoreChunk(model, job, settings),
    close: async () => {},
  };
}

export function workerPool(size: number, modelText: string, threshold: number | undefined, settings: ChunkSettings): ChunkExecutor {
  const url = new URL('./worker.js', import.meta.url);
  const idle: Worker[] = [];
  const waiting: ((w: Worker) => void)[] = [];
  const pending = new Map<Worker, { resolve: (r: ChunkResult) => void; reject: (e: Error) => void }>();
  const workers: Worker[] = [];
  for (let i = 0; i < size; i++) {
    const w = new Worker(url, { workerData: { modelText, threshold, settings }, resourceLimits: { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 64 } });
    w.on('message', (result: ChunkResult) => {
      const p = pending.get(w);
      pending.delete(w);
      release(w);
      p?.resolve(result);
    });
    w.on('error', (err) => {
      const p = pending.get(w);
      pending.delete(w);
      p?.reject(err);
    });
    workers.push(w);
    idle.push(w);
  }
  function release(w: Worker): void {
    const next = waiting.shift();
    if (next) next(w);
    else idle.push(w);
  }
  const acquire = (): Promise<Worker> => {
    const w = idle.pop();
    return w ? Promise.resolve(w) : new Promise((resolve) => waiting.push(resolve));
  };
  return {
    capacity: size * 2,
    async run(job) {
      const w = await acquire();
      return new Promise<ChunkResult>((resolve, reject) => {
        pending.set(w, { resolve, reject });
        w.postMessage(job, [job.bytes.buffer as ArrayBuffer]);
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
