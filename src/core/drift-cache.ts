import type { Store } from '../db/store.js';
import type { IsolationForestModel } from '../model/model.js';
import { storedDrift, type StoredDrift } from './stored-drift.js';

/** How long computed figures serve: callers poll every few seconds (dashboards, scrapes); drift moves over days. */
export const DRIFT_REFRESH_MS = 60_000;
/** A caller waits at most this for a computation; a slower one finishes in the background for the next caller. */
export const DRIFT_WAIT_MS = 2_000;

/**
 * The drift of stored traffic (storedDrift) for pollers: recomputed at most once per DRIFT_REFRESH_MS for a
 * model and window, and one computation at a time in all (each reads its whole window: callers asking for many
 * windows, e.g. ?days=1..3650, must not start as many scans), none waited for more than DRIFT_WAIT_MS. Meanwhile
 * the last figures serve (undefined before the first). A failed computation (the database went away) keeps the
 * last figures, and the next caller tries again.
 */
export class StoredDriftCache {
  private readonly entries = new Map<string, { at: number; value: StoredDrift | null }>();
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly waitMs = DRIFT_WAIT_MS,
  ) {}

  /** `use` runs a store call (the daemon's db.run, or a local store's). */
  async latest(
    use: <T>(fn: (store: Store) => Promise<T>) => Promise<T>,
    model: IsolationForestModel,
    days: number,
  ): Promise<StoredDrift | null | undefined> {
    const key = `${model.version}/${days}`;
    const entry = this.entries.get(key);
    if (entry && this.now() - entry.at < DRIFT_REFRESH_MS) return entry.value;
    let pending = this.pending.get(key);
    if (!pending && this.pending.size > 0) return entry?.value; // another window is being read: ask again later
    if (!pending) {
      pending = use((store) => storedDrift(store, model, days, this.now()))
        .then(
          (value) => {
            this.entries.set(key, { at: this.now(), value });
          },
          () => {}, // kept: the last figures; the next caller tries again
        )
        .finally(() => this.pending.delete(key));
      this.pending.set(key, pending);
    }
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.waitMs);
    });
    await Promise.race([pending, waited]).finally(() => clearTimeout(timer));
    return this.entries.get(key)?.value;
  }
}
