/**
 * What the dashboard shows, from either source (the local store or a daemon's GET /api/dashboard): the
 * contract's fields plus what the panels need. Plain data, so views and reducers test without I/O.
 */
import type { DashboardData, TransactionDetail } from '../../core/dashboard-data.js';

export type { FlaggedSummary, TransactionDetail } from '../../core/dashboard-data.js';

export interface DashboardSnapshot extends DashboardData {
  /** Where the data came from, e.g. "sqlite ~/.local/share/secureflow/secureflow.db" or "https://x.fly.dev". */
  source: string;
}

/** Where the dashboard's data comes from: the local store or a daemon. */
export interface DashboardSource {
  readonly description: string;
  snapshot(days: number): Promise<DashboardSnapshot>;
  transaction(id: number): Promise<TransactionDetail>;
  /** Records the analyst's verdict, through the same path as `secureflow feedback`; who it was recorded as (if told). */
  feedback(id: number, isCorrect: boolean): Promise<string | null | undefined>;
  close(): Promise<void>;
}
