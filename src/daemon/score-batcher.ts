import { scoreValid, type ScoreResult, type ValidTransaction } from '../core/score-transaction.js';
import type { IsolationForestModel } from '../model/model.js';

/**
 * Scores the single predictions that arrive together as one block: the scoring and explanation kernels
 * walk each tree once for the whole block instead of once per request. Same numbers as one at a time.
 */
export class ScoreBatcher {
  private queue: { item: ValidTransaction; resolve: (r: ScoreResult) => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;

  constructor(
    private readonly model: () => IsolationForestModel,
    private readonly onBlock: (seconds: number, size: number) => void = () => {},
    private readonly maxRows = 256,
  ) {}

  score(item: ValidTransaction): Promise<ScoreResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.maxRows) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const block = this.queue;
    if (block.length === 0) return;
    this.queue = [];
    try {
      const start = process.hrtime.bigint();
      const results = scoreValid(this.model(), block.map((b) => b.item), 'api');
      this.onBlock(Number(process.hrtime.bigint() - start) / 1e9, block.length);
      block.forEach((b, i) => b.resolve(results[i]));
    } catch (e) {
      block.forEach((b) => b.reject(e));
    }
  }
}
