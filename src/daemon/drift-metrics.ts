import { StoredDriftCache } from '../core/drift-cache.js';
import type { DaemonState } from './daemon-state.js';
import type { DaemonMetrics } from './metrics.js';

/**
 * Keeps the drift gauges of /metrics: PSI of the last `days` days of stored traffic against the scoring model's
 * training distribution (see storedDrift), through the daemon's StoredDriftCache (a scrape recomputes at most
 * once a minute and waits at most 2 s). While the database is down no query is tried (/metrics must answer during
 * an outage) and the gauges keep their last values.
 */
export class DriftGauges {
  constructor(
    private readonly metrics: DaemonMetrics,
    private readonly db: DaemonState,
    private readonly days: number,
    private readonly cache = new StoredDriftCache(),
  ) {}

  async refresh(): Promise<void> {
    if (this.db.status !== 'connected') return;
    const drift = await this.cache.latest((fn) => this.db.run(fn), this.db.model, this.days);
    if (drift === undefined) return; // not computed yet (or the database failed): keep what the gauges say
    const { driftPsi, driftDrifted, driftRows } = this.metrics;
    driftPsi.reset();
    driftDrifted.reset();
    driftRows.set({ days: String(this.days) }, drift?.rows ?? 0);
    if (drift) {
      for (const f of drift.features) driftPsi.set({ feature: f.name }, f.psi);
      if (drift.score) driftPsi.set({ feature: 'anomaly_score' }, drift.score.psi);
      driftDrifted.set(drift.drifted ? 1 : 0);
    }
  }
}
