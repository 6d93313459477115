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
  ) {}

  add(item: In): Promise<Out> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.maxItems) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush()); // after the requests already read in this turn
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    // An async function turns a synchronous throw into a rejection, handled like any other.
    (async () => this.process(batch.map((b) => b.item)))().then(
      (results) => batch.forEach((b, i) => b.resolve(results[i])),
      (e) => batch.forEach((b) => b.reject(e)),
    );
  }
}
