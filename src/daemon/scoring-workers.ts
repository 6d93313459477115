import { availableParallelism } from 'node:os';
import { rowScorerPool, workersAvailable, type RowScorer } from '../core/batch/executors.js';
import type { IsolationForestModel } from '../model/model.js';

/**
 * The daemon's worker threads for large predict-batch requests (batch-body.ts scoreOnWorkers), one per core,
 * started on first use (not at start: cold start) and again when the model changes (a database's active model,
 * picked up on reconnecting), or after a worker failed. With one core there are none: this thread scores; so it
 * does when run from the TypeScript sources (in-process tests), which have no built worker script.
 */
export class ScoringWorkers {
  private pool: RowScorer | null = null;
  private model: IsolationForestModel | null = null;

  constructor(private readonly size = workersAvailable() ? availableParallelism() : 0) {}

  /** The pool for `model`; null when this machine has one core. */
  for(model: IsolationForestModel): RowScorer | null {
    if (this.size < 2) return null;
    if (this.pool && this.model === model && !this.pool.failed) return this.pool;
    void this.pool?.close();
    // The workers parse the model from text, as the CLI's do; the threshold may differ from the file's (--threshold).
    this.pool = rowScorerPool(this.size, JSON.stringify(model.doc), model.threshold);
    this.model = model;
    return this.pool;
  }

  /** Starts the pool for `model` and has each worker build its explanation tables (64 rows each). */
  async warm(model: IsolationForestModel): Promise<void> {
    const pool = this.for(model);
    if (!pool) return;
    const rows = 64; // explainRows builds the tables from 64 rows on
    await Promise.all(Array.from({ length: this.size }, () => pool.score(new Float64Array(rows * 5), rows, true)));
  }

  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = null;
  }
}
