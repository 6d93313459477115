import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ScoredBatch } from '../core/batch/score-chunk.js';
import { RULE_ACTIONS, type Decision, type RuleMatch } from '../core/rules/decide.js';

/** The daemon's Prometheus metrics, on a registry of its own (one per app, so tests can build many). */
export class DaemonMetrics {
  readonly registry = new Registry();
  readonly requestDuration = new Histogram({
    name: 'secureflow_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly predictions = new Counter({
    name: 'secureflow_predictions_total',
    help: 'Scored transactions by verdict',
    labelNames: ['verdict'] as const,
    registers: [this.registry],
  });
  readonly ruleMatches = new Counter({
    name: 'secureflow_rule_matches_total',
    help: 'Scored transactions each rule matched',
    labelNames: ['rule'] as const,
    registers: [this.registry],
  });
  readonly decisions = new Counter({
    name: 'secureflow_decisions_total',
    help: 'Scored transactions by decision (rules, else the model: review what it flags)',
    labelNames: ['decision'] as const,
    registers: [this.registry],
  });
  readonly scoringDuration = new Histogram({
    name: 'secureflow_scoring_duration_seconds',
    help: "Time to validate, score and explain (not store) a request's transactions",
    labelNames: ['endpoint'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'secureflow_batch_size',
    help: 'Transactions per POST /api/predict-batch',
    buckets: [1, 10, 100, 1000, 5000, 10_000],
    registers: [this.registry],
  });
  readonly databaseErrors = new Counter({
    name: 'secureflow_database_errors_total',
    help: 'Requests that failed because the database was unavailable',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });
  readonly databaseUp = new Gauge({
    name: 'secureflow_database_up',
    help: '1 while the database answers, 0 during an outage',
    registers: [this.registry],
  });
  readonly modelInfo = new Gauge({
    name: 'secureflow_model_info',
    help: 'The model scoring requests (value 1, version in the label)',
    labelNames: ['version'] as const,
    registers: [this.registry],
  });

  readonly driftPsi = new Gauge({
    name: 'secureflow_drift_psi',
    help: "Population stability index of the last N days of stored traffic against the scoring model's training distribution, by feature (anomaly_score: rows this model scored); < 0.1 stable, 0.1-0.25 watch, >= 0.25 drifted",
    labelNames: ['feature'] as const,
    registers: [this.registry],
  });
  readonly driftDrifted = new Gauge({
    name: 'secureflow_drift_drifted',
    help: '1 when any feature or the score has drifted (PSI >= 0.25) over the last N days of stored traffic, else 0 (also with no traffic: see secureflow_drift_rows)',
    registers: [this.registry],
  });
  readonly driftRows = new Gauge({
    name: 'secureflow_drift_rows',
    help: 'Stored transactions the drift figures come from (the last N days)',
    labelNames: ['days'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  setModel(version: string): void {
    this.modelInfo.reset();
    this.modelInfo.set({ version }, 1);
  }

  /** Counts a scored block's decisions and rule matches (rules/batch-rules.ts keeps them on the batch). */
  countDecisions(batch: Pick<ScoredBatch, 'count' | 'decisions' | 'isAnomaly' | 'matchedRules'>): void {
    const counts = [0, 0, 0];
    const codes = batch.decisions ?? batch.isAnomaly;
    for (let v = 0; v < batch.count; v++) counts[codes[v]]++;
    for (let c = 0; c < 3; c++) if (counts[c] > 0) this.decisions.inc({ decision: RULE_ACTIONS[c] }, counts[c]);
    if (!batch.matchedRules) return;
    const byRule = new Map<string, number>();
    for (let v = 0; v < batch.count; v++)
      for (const m of batch.matchedRules[v] ?? []) byRule.set(m.name, (byRule.get(m.name) ?? 0) + 1);
    for (const [rule, n] of byRule) this.ruleMatches.inc({ rule }, n);
  }

  /** One scored transaction's decision and matched rules. */
  countDecision(t: { decision: Decision; matched_rules: readonly RuleMatch[] }): void {
    this.decisions.inc({ decision: t.decision });
    for (const m of t.matched_rules) this.ruleMatches.inc({ rule: m.name });
  }

  countVerdicts(flagged: number, total: number): void {
    if (flagged > 0) this.predictions.inc({ verdict: 'anomaly' }, flagged);
    if (total - flagged > 0) this.predictions.inc({ verdict: 'normal' }, total - flagged);
  }
}
