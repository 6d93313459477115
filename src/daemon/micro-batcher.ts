/**
 * Gathers the items that requests hand in during one turn of the event loop and processes them together,
 * answering each request with its own result. The daemon uses it twice: concurrent predictions are scored
 * as one block (the kernels walk each tree once per block, not once per request), and their rows are stored
 * in one database transaction (group commit). A request is answered only once its batch is done, so nothing
 * is acknowledged before it is stored.
 */
export class MicroBatcher<In, Out> {
  private queue: { item: In; resolve: (out: Out) => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;

  constructor(
    /** Results in the items' order; one failure fails the whole batch. */
    private readonly process: (items: In[]) => Out[] | Promise<Out[]>,
    private readonly maxItems: number,
    /**
     * Failures that one item may have caused (e.g. a row the database refuses): the batch is then split in halves
     * and each half tried again, down to single items, so that only the offending caller gets the error.
     * Other failures (the database is down) fail the whole batch at once.
     */
    private readonly isolate: (e: unknown) => boolean = () => false,
    /**
     * When a batch is processed: by default after the requests already read in this turn (setImmediate). Items
     * handed in by the continuations of another batcher's callers (the daemon's rows, made as a scored batch
     * resolves) are all queued as microtasks at once: queueMicrotask gathers them and stores them in the same turn.
     */
    private readonly schedule: (flush: () => void) => void = setImmediate,
  ) {}

  add(item: In): Promise<Out> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.maxItems) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        this.schedule(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    this.run(batch);
  }

  private run(batch: typeof this.queue): void {
    // An async function turns a synchronous throw into a rejection, handled like any other.
    (async () => this.process(batch.map((b) => b.item)))().then(
      (results) =>
        batch.forEach((b, i) => {
          b.resolve(results[i]);
        }),
      (e) => {
        if (batch.length > 1 && this.isolate(e)) {
          const half = Math.ceil(batch.length / 2);
          this.run(batch.slice(0, half));
          this.run(batch.slice(half));
        } else
          batch.forEach((b) => {
            b.reject(e);
          });
      },
    );
  }
}
