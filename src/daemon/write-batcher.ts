import type { NewTransaction } from '../db/store.js';
import type { DaemonDatabase } from './database.js';

/**
 * Group commit for single predictions: rows from requests that arrive together are stored in one database
 * transaction (one fsync-free commit on SQLite, one round trip on Postgres) instead of one each. A request
 * is answered only after its row is committed, so nothing acknowledged can be lost.
 */
export class WriteBatcher {
  private queue: { row: NewTransaction; resolve: (id: number) => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;

  constructor(
    private readonly db: DaemonDatabase,
    private readonly maxRows = 1000,
  ) {}

  insert(row: NewTransaction): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      if (this.queue.length >= this.maxRows) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush()); // after the requests already read in this turn of the event loop
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    this.db.run((s) => s.insertTransactions(batch.map((b) => b.row))).then(
      (ids) => batch.forEach((b, i) => b.resolve(ids[i])),
      (e) => batch.forEach((b) => b.reject(e)),
    );
  }
}
