/**
 * What the dashboard shows, from either source (the local store or a daemon's GET /api/dashboard): the
 * contract's fields plus what the panels need. Plain data, so views and reducers test without I/O.
 */
import type { RiskFactor } from '../../model/explain.js';

export interface DashboardSnapshot {
  /** Where the data came from, e.g. "sqlite ~/.local/share/secureflow/secureflow.db" or "https://x.fly.dev". */
  source: string;
  model_version: string | null;
  days: number;
  since: string;
  generated_at: string;
  stats: { total_transactions: number; anomalies_detected: number; avg_anomaly_score: number; anomaly_rate: number };
  hourly_distribution: { hour: number; total_transactions: number; anomalies: number }[];
  feedback: { total_feedback: number; positive_feedback: number; accuracy: number };
  risk_levels: { normal: number; elevated: number; highest: number };
  /** Transactions per time bucket over the window, oldest first (equal-width buckets). */
  throughput: { start: string; total: number; anomalies: number }[];
  /** Newest flagged transactions, newest first. */
  recent_flagged: FlaggedSummary[];
}

export interface FlaggedSummary {
  id: number;
  created_at: string;
  amount: number;
  hour: number;
  anomaly_score: number;
  risk_score: number;
  risk_level: string;
  top_factor: { feature: string; description: string } | null;
  feedback: boolean | null;
}

/** One transaction for the detail view: features, scores, every Shapley value, feedback. */
export interface TransactionDetail {
  id: number;
  created_at: string;
  source: string;
  transaction: { amount: number; hour: number; day_of_week: number; merchant_category: number; transaction_type: number };
  anomaly_score: number;
  risk_score: number;
  risk_level: string;
  is_anomaly: boolean;
  confidence: number;
  model_version: string;
  shap_explanation: Record<string, number>;
  risk_factors: RiskFactor[];
  feedback: { is_correct: boolean; notes: string | null; updated_at: string } | null;
}

/** Where the dashboard's data comes from: the local store or a daemon. */
export interface DashboardSource {
  readonly description: string;
  snapshot(days: number): Promise<DashboardSnapshot>;
  transaction(id: number): Promise<TransactionDetail>;
  /** Records the analyst's verdict, through the same path as `secureflow feedback`. */
  feedback(id: number, isCorrect: boolean): Promise<void>;
  close(): Promise<void>;
}
