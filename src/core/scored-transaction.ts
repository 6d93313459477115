/**
 * The one scored transaction: what scoring a transaction produces, whichever way it came in (a CLI flag set, a CSV
 * row, `/api/predict`, `/api/predict-batch`). Made by one function, `scoredTransactionAt`, from the kernel's output
 * (a ScoredBatch: the scores of a block of rows, column by column); every other shape (the stored row, the HTTP
 * answers, the CLI's JSON) is derived from it in ./scored-views.ts. Field names are the HTTP contract's.
 */
import {
  describeValue,
  riskFactors,
  riskLevel,
  topFeatures,
  type RiskFactor,
  type RiskLevel,
} from '../model/explain.js';
import { FEATURE_COUNT, FEATURES } from '../model/features.js';
import type { IsolationForestModel } from '../model/model.js';
import type { CanonicalTransaction } from '../model/transaction.js';
import type { ScoredBatch } from './batch/score-chunk.js';
import type { RuleErrorOnRow } from './rules/apply-rules.js';
import { decisionOf, type Decision, type RuleMatch } from './rules/decide.js';

/** Why the model scored a transaction as it did: exact Shapley values over the five fields, and sentences. */
export interface TransactionExplanation {
  shap_explanation: Record<string, number>;
  /** TreeSHAP's base value: shap_explanation adds up to (minus mean path length) - shap_base_value. */
  shap_base_value: number;
  risk_factors: RiskFactor[];
}

export interface ScoredTransaction {
  /** The stored row's id; null until stored (or when not stored). */
  transaction_id: number | null;
  /** The caller's own id for the transaction (an id/transaction_id/reference field or column). */
  reference: string | null;
  transaction: CanonicalTransaction;
  /** The model's verdict (is_fraudulent in the legacy API and the database). */
  is_anomaly: boolean;
  anomaly_score: number;
  risk_score: number;
  risk_level: RiskLevel;
  confidence: number;
  /** Null when explanations were not asked for (CSV runs without --explain). */
  explanation: TransactionExplanation | null;
  model_version: string;
  /** What happens to it: the rules' decision (rules/decide.ts), else review when the model flags it, else allow. */
  decision: Decision;
  /** The enabled rules that matched it, in rule order. */
  matched_rules: RuleMatch[];
  /** Rules that failed on this transaction at run time (they count as not matched); never stored. */
  rule_errors: RuleErrorOnRow[];
}

/**
 * No rule matched, or none failed: one shared empty list, frozen (a push would throw, never corrupt other rows).
 * A new [] for each was two arrays per scored row on a bulk store's main thread.
 */
const NONE = Object.freeze([]) as never[];

/** Decimal places every face shows (and the database keeps): one place, so all faces agree. */
export const DIGITS = { anomaly_score: 6, risk_score: 2, confidence: 4, shap: 6 } as const;

const POWERS = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8];

/** `value` rounded to `digits` decimal places (0..8), as every face shows it. */
export function round(value: number, digits: number): number {
  const f = POWERS[digits] ?? 10 ** digits; // a table: 10 ** digits was a power call per number (1M rows: 0.2 s)
  return Math.round(value * f) / f;
}

/**
 * Row `v` of a scored block, with every field; its explanation when the block was explained (`batch.shap`).
 * The only place risk_level, rounding and explanations are put together for a transaction.
 */
export function scoredTransactionAt(model: IsolationForestModel, batch: ScoredBatch, v: number): ScoredTransaction {
  const f = v * FEATURE_COUNT;
  const x = batch.features;
  const isAnomaly = batch.isAnomaly[v] === 1;
  return {
    transaction_id: null,
    reference: batch.references?.[v] ?? null,
    transaction: {
      amount: x[f],
      hour: x[f + 1],
      day_of_week: x[f + 2],
      merchant_category: x[f + 3],
      transaction_type: x[f + 4],
    },
    is_anomaly: isAnomaly,
    anomaly_score: round(batch.anomalyScore[v], DIGITS.anomaly_score),
    risk_score: round(batch.riskScore[v], DIGITS.risk_score),
    risk_level: riskLevel(batch.riskScore[v], model.thresholdRisk, isAnomaly),
    confidence: round(batch.confidence[v], DIGITS.confidence),
    explanation: batch.shap ? explanationOf(model, x, batch.shap, v) : null,
    model_version: model.version,
    decision: decisionOf(batch.decisions ? batch.decisions[v] : batch.isAnomaly[v]),
    matched_rules: batch.matchedRules?.[v] ?? NONE,
    rule_errors: batch.ruleErrors?.[v] ?? NONE,
  };
}

/**
 * Row `v`'s explanation from its Shapley values (`phi`, 5 per row) and raw features (`raw`, FEATURES order, which
 * the risk-factor sentences quote), rounded as every face shows it.
 */
export function explanationOf(
  model: IsolationForestModel,
  raw: Float64Array,
  phi: Float64Array,
  v: number,
): TransactionExplanation {
  const p = phi.subarray(v * FEATURE_COUNT, (v + 1) * FEATURE_COUNT);
  const shap: Record<string, number> = {};
  for (let j = 0; j < FEATURE_COUNT; j++) shap[FEATURES[j]] = round(p[j], DIGITS.shap);
  const factors = riskFactors(raw, v * FEATURE_COUNT, p, model.doc.training.features, model.doc.training.rows);
  return {
    shap_explanation: shap,
    shap_base_value: round(model.shapBaseValue, DIGITS.shap),
    risk_factors: factors.map((r) => ({ ...r, contribution: round(r.contribution, DIGITS.shap) })),
  };
}

/** A number as JSON.stringify writes it (finite numbers as String(n), -0 as 0; anything else null). */
export function jsonNumber(n: number): string {
  return Number.isFinite(n) ? `${n}` : 'null';
}

/** Row `v`'s explanation (explanationOf) as JSON text, made without the objects; see explanationJson. */
export interface ExplanationText {
  /** JSON.stringify(explanation.shap_explanation). */
  shap: string;
  /** JSON.stringify(explanation.risk_factors). */
  factors: string;
}

/**
 * Row `v`'s explanation as the JSON text of its two parts: the same bytes as JSON.stringify of explanationOf's
 * fields (test/core/explanation-text.test.ts), without making the objects: predict-batch writes 10,000 of these
 * into its answer and the store, and the objects and their serialisation were a third of its main thread.
 */
export function explanationText(
  model: IsolationForestModel,
  raw: Float64Array,
  phi: Float64Array,
  v: number,
): ExplanationText {
  const o = v * FEATURE_COUNT;
  let shap = '{';
  for (let j = 0; j < FEATURE_COUNT; j++)
    shap += `${j === 0 ? '' : ','}"${FEATURES[j]}":${jsonNumber(round(phi[o + j], DIGITS.shap))}`;
  const { features: stats, rows } = model.doc.training;
  const top = topFeatures(phi, o);
  let factors = '[';
  for (let k = 0; k < top.length; k++) {
    const j = top[k];
    const description = describeValue(FEATURES[j], raw[o + j], stats[j], rows);
    factors += `${k === 0 ? '' : ','}{"feature":"${FEATURES[j]}","value":${jsonNumber(raw[o + j])},"contribution":${jsonNumber(
      round(phi[o + j], DIGITS.shap),
    )},"description":${JSON.stringify(description)}}`;
  }
  return { shap: `${shap}}`, factors: `${factors}]` };
}

/** JSON.stringify(explanationOf(...)) from its parts' text. */
export function explanationJson(model: IsolationForestModel, text: ExplanationText): string {
  const base = baseValueText(model);
  return `{"shap_explanation":${text.shap},"shap_base_value":${base},"risk_factors":${text.factors}}`;
}

/** Each model's base value text: a model's base value never changes, and explanationJson runs for every row. */
const baseValueTexts = new WeakMap<IsolationForestModel, string>();

/** The model's shap_base_value as every face writes it (JSON text). */
export function baseValueText(model: IsolationForestModel): string {
  let text = baseValueTexts.get(model);
  if (text === undefined) {
    text = jsonNumber(round(model.shapBaseValue, DIGITS.shap));
    baseValueTexts.set(model, text);
  }
  return text;
}
