import type { DecisionSummary, RuleMatchCount, Store } from '../db/store.js';
import { expectedAlertRate } from '../model/calibrate.js';
import type { RiskFactor } from '../model/explain.js';
import type { IsolationForestModel } from '../model/model.js';
import { storedResult } from './stored-result.js';
import type { StoredDrift } from './stored-drift.js';

/** The dashboard's data: GET /api/dashboard's contract fields plus what the terminal dashboard's panels need. */
export interface DashboardData {
  model_version: string | null;
  /** The scoring model's threshold and the share of traffic it is expected to flag (absent from older daemons). */
  alert_rate?: AlertRateView | null;
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
  /**
   * PSI of the window's stored traffic against the scoring model's training distribution (storedDrift): null
   * without traffic; absent while it is being computed (StoredDriftCache) or from an older daemon.
   */
  drift?: StoredDrift | null;
  /** Rows by what the rules (else the model's flag) decided over the window; absent from an older daemon. */
  decisions?: DecisionSummary['decisions'];
  /** The rules that matched the most rows over the window, most first; absent from an older daemon. */
  top_rules?: RuleMatchCount[];
}

/**
 * The threshold in force and its expected alert rate: measured on the model's calibration traffic
 * (`secureflow calibrate`), else on its training rows; 95% Wilson interval on those rows.
 */
export interface AlertRateView {
  threshold: number;
  expected: number;
  low: number;
  high: number;
  basis: 'calibration' | 'training';
  rows: number;
}

export function alertRateView(model: IsolationForestModel): AlertRateView {
  const r = expectedAlertRate(model.doc, model.threshold);
  return { threshold: model.threshold, expected: r.share, low: r.low, high: r.high, basis: r.basis, rows: r.rows };
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
  transaction: {
    amount: number;
    hour: number;
    day_of_week: number;
    merchant_category: number;
    transaction_type: number;
  };
  anomaly_score: number;
  risk_score: number;
  risk_level: string;
  is_anomaly: boolean;
  confidence: number;
  model_version: string;
  shap_explanation: Record<string, number>;
  risk_factors: RiskFactor[];
  /** recorded_by: who gave the verdict (a user, `key:NAME`, the OS user of a local CLI), null before that was kept. */
  feedback: { is_correct: boolean; notes: string | null; updated_at: string; recorded_by: string | null } | null;
}

export interface DashboardQuery {
  days: number;
  /** Throughput buckets over the window. */
  buckets: number;
  /** How many recent flagged transactions. */
  flagged: number;
  modelVersion: string | null;
  alertRate?: AlertRateView | null;
  /** How many of the rules that matched most (default TOP_RULES). */
  topRules?: number;
  now?: Date;
}

/** The dashboard's "rules firing most": this many. */
export const TOP_RULES = 5;

/** Reads the dashboard's data from a store: the same for the daemon's endpoint and the local dashboard. */
export async function dashboardData(store: Store, q: DashboardQuery): Promise<DashboardData> {
  const now = q.now ?? new Date();
  const since = new Date(now.getTime() - q.days * 86_400_000);
  const [d, throughput, flagged, decided] = await Promise.all([
    store.dashboard(since),
    store.throughput(since, q.buckets),
    store.recentFlagged(since, q.flagged), // with their verdicts, in the same query
    store.decisionSummary(since, q.topRules ?? TOP_RULES),
  ]);
  const recent: FlaggedSummary[] = [];
  for (const row of flagged) {
    // The stored explanation; a row stored without one is explained again (its model read once per version).
    const explained = await storedResult(store, row);
    const top = explained.risk_factors[0];
    recent.push({
      id: row.id,
      created_at: row.created_at,
      amount: row.amount,
      hour: row.hour,
      anomaly_score: row.anomaly_score,
      risk_score: row.risk_score,
      risk_level: row.risk_level,
      top_factor: top ? { feature: top.feature, description: top.description } : null,
      feedback: row.feedback ? row.feedback.is_correct : null,
    });
  }
  return {
    model_version: q.modelVersion,
    alert_rate: q.alertRate ?? null,
    days: q.days,
    since: since.toISOString(),
    generated_at: now.toISOString(),
    stats: {
      total_transactions: d.total_transactions,
      anomalies_detected: d.anomalies_detected,
      avg_anomaly_score: d.avg_anomaly_score,
      anomaly_rate: d.anomaly_rate,
    },
    hourly_distribution: d.hourly_distribution,
    feedback: d.feedback,
    risk_levels: d.risk_levels,
    throughput,
    recent_flagged: recent,
    decisions: decided.decisions,
    top_rules: decided.top_rules,
  };
}

/** A stored transaction for the detail view; null when unknown. */
export async function transactionDetail(store: Store, id: number): Promise<TransactionDetail | null> {
  const row = await store.getTransaction(id);
  if (!row) return null;
  const r = await storedResult(store, row);
  return {
    id: row.id,
    created_at: row.created_at,
    source: row.source,
    transaction: r.transaction,
    anomaly_score: r.anomaly_score,
    risk_score: r.risk_score,
    risk_level: r.risk_level,
    is_anomaly: r.is_anomaly,
    confidence: r.confidence,
    model_version: r.model_version,
    shap_explanation: r.shap_explanation,
    risk_factors: r.risk_factors,
    feedback: row.feedback
      ? {
          is_correct: row.feedback.is_correct,
          notes: row.feedback.notes,
          updated_at: row.feedback.updated_at,
          recorded_by: row.feedback.recorded_by,
        }
      : null,
  };
}
