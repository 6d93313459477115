import { storedDrift } from '../core/stored-drift.js';
import type { DaemonDatabase } from './database.js';
import type { DaemonMetrics } from './metrics.js';

/** How long computed drift figures serve scrapes: Prometheus scrapes every 15-60 s, drift moves over days. */
export const DRIFT_REFRESH_MS = 60_000;
/** A scrape waits at most this for a computation; a slower one finishes in the background for the next scrape. */
export const DRIFT_WAIT_MS = 2_000;

/**
 * Keeps the drift gauges of /metrics: PSI of the last `days` days of stored traffic against the scoring model's
 * training distribution (see storedDrift), recomputed by a scrape at most every DRIFT_REFRESH_MS (the database
 * counts a whole window of rows; a scrape must stay cheap). Concurrent scrapes share one computation, and none
 * waits more than DRIFT_WAIT_MS for it. While the database is down the gauges keep their last values (no query is
 * tried: /metrics must answer during an outage), and a scrape after it returns computes afresh.
 */
export class DriftGauges {
  private computedAt = Number.NEGATIVE_INFINITY;
  private computedFor = '';
  private pending: Promise<void> | null = null;

  constructor(
    private readonly metrics: DaemonMetrics,
    private readonly db: DaemonDatabase,
    private readonly days: number,
    private readonly now: () => number = Date.now,
  ) {}

  async refresh(): Promise<void> {
    const fresh = this.now() - this.computedAt < DRIFT_REFRESH_MS && this.computedFor === this.db.model.version;
    if (fresh || this.db.status !== 'connected') return;
    this.pending ??= this.compute().finally(() => {
      this.pending = null;
    });
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, DRIFT_WAIT_MS);
    });
    await Promise.race([this.pending, waited]).finally(() => clearTimeout(timer));
  }

  private async compute(): Promise<void> {
    const model = this.db.model;
    let drift: Awaited<ReturnType<typeof storedDrift>>;
    try {
      drift = await this.db.run((store) => storedDrift(store, model, this.days, this.now()));
    } catch {
      return; // database unavailable: keep what the gauges say, try again on the next scrape
    }
    const { driftPsi, driftDrifted, driftRows } = this.metrics;
    driftPsi.reset();
    driftDrifted.reset();
    driftRows.set({ days: String(this.days) }, drift?.rows ?? 0);
    if (drift) {
      for (const f of drift.features) driftPsi.set({ feature: f.name }, f.psi);
      if (drift.score) driftPsi.set({ feature: 'anomaly_score' }, drift.score.psi);
      driftDrifted.set(drift.drifted ? 1 : 0);
    }
    this.computedAt = this.now();
    this.computedFor = model.version;
  }
}
