/**
 * Every shape a scored transaction takes outside the core, derived from the one ScoredTransaction
 * (./scored-transaction.ts) and back: the stored row, the single result (`/api/predict`, `secureflow score --json`),
 * a predict-batch item, and a stored row as the HTTP API shows it. Key order here is the JSON's key order.
 */
import type { Feedback, NewTransaction, StoredTransaction } from '../db/store.js';
import type { RiskFactor, RiskLevel } from '../model/explain.js';
import type { RuleErrorOnRow } from './rules/apply-rules.js';
import type { Decision, RuleMatch } from './rules/decide.js';
import {
  jsonNumber,
  type ExplanationText,
  type ScoredTransaction,
  type TransactionExplanation,
} from './scored-transaction.js';

/** The row to store: the transaction, its scores, its explanation when it has one, and where it came from. */
export function toNewTransaction(
  t: ScoredTransaction,
  origin: { source: string; batchId: string | null },
  /** JSON.stringify(t.explanation), when the caller made it already. */
  explanationJson?: string,
): NewTransaction {
  const x = t.transaction; // fields copied one by one: a spread cost a bulk store ~10% of its time (1M rows)
  const row: NewTransaction = {
    reference: t.reference,
    amount: x.amount,
    hour: x.hour,
    day_of_week: x.day_of_week,
    merchant_category: x.merchant_category,
    transaction_type: x.transaction_type,
    is_fraudulent: t.is_anomaly,
    anomaly_score: t.anomaly_score,
    risk_score: t.risk_score,
    risk_level: t.risk_level,
    confidence: t.confidence,
    explanation: t.explanation,
    model_version: t.model_version,
    source: origin.source,
    batch_id: origin.batchId,
    decision: t.decision,
    matched_rules: t.matched_rules,
  };
  if (explanationJson !== undefined) row.explanation_json = explanationJson;
  return row;
}

/** A stored row as a scored transaction (its explanation as stored; null for rows stored without a whole one). */
export function fromStoredRow(row: StoredTransaction): ScoredTransaction {
  const stored = row.explanation as Partial<TransactionExplanation> | null;
  return {
    transaction_id: row.id,
    reference: row.reference,
    transaction: {
      amount: row.amount,
      hour: row.hour,
      day_of_week: row.day_of_week,
      merchant_category: row.merchant_category,
      transaction_type: row.transaction_type,
    },
    is_anomaly: row.is_fraudulent,
    anomaly_score: row.anomaly_score,
    risk_score: row.risk_score,
    risk_level: row.risk_level as RiskLevel,
    confidence: row.confidence,
    // Whole, or not at all: rows stored before explanations were kept whole hold Shapley values alone.
    explanation:
      stored?.shap_explanation && stored.risk_factors && stored.shap_base_value !== undefined
        ? {
            shap_explanation: stored.shap_explanation,
            shap_base_value: stored.shap_base_value,
            risk_factors: stored.risk_factors,
          }
        : null,
    model_version: row.model_version,
    decision: row.decision,
    matched_rules: row.matched_rules,
    rule_errors: [], // not stored: reported on the answer that scored it
  };
}

/** One scored transaction as the HTTP contract answers `/api/predict` (and `secureflow score --json` prints it). */
export interface ScoreResult {
  transaction_id: number | null;
  reference: string | null;
  is_anomaly: boolean;
  /** The legacy API's name for is_anomaly. */
  is_fraudulent: boolean;
  anomaly_score: number;
  risk_score: number;
  risk_level: RiskLevel;
  confidence: number;
  decision: Decision;
  matched_rules: RuleMatch[];
  /** Rules that failed on this transaction at run time; present only when one did. */
  rule_errors?: RuleErrorOnRow[];
  shap_explanation: Record<string, number>;
  shap_base_value: number;
  risk_factors: RiskFactor[];
  transaction: ScoredTransaction['transaction'];
  data_source: string;
  model_version: string;
  timestamp: string;
}

/**
 * The /api/predict answer as text: the same bytes as the schema's serialiser writes for toScoreResult(t, origin)
 * with the transaction's fields last, when `t` carries no explanation object and `explanation` is its text
 * (test/core/explanation-text.test.ts). Serialising the object was a tenth of the route's CPU and allocation.
 */
export function scoreResultText(
  t: ScoredTransaction,
  explanation: ExplanationText,
  baseValue: string,
  origin: { dataSource: string; timestamp: string },
): string {
  const x = t.transaction;
  let text = `{${scoresText(t)},"shap_explanation":${explanation.shap},"shap_base_value":${baseValue}`;
  text += `,"risk_factors":${explanation.factors},"data_source":${JSON.stringify(origin.dataSource)}`;
  text += `,"model_version":${JSON.stringify(t.model_version)},"timestamp":${JSON.stringify(origin.timestamp)}`;
  text += `,"amount":${jsonNumber(x.amount)},"hour":${jsonNumber(x.hour)},"day_of_week":${jsonNumber(x.day_of_week)}`;
  return `${text},"merchant_category":${jsonNumber(x.merchant_category)},"transaction_type":${jsonNumber(x.transaction_type)}}`;
}

export function toScoreResult(t: ScoredTransaction, origin: { dataSource: string; timestamp: string }): ScoreResult {
  return {
    transaction_id: t.transaction_id,
    reference: t.reference,
    is_anomaly: t.is_anomaly,
    is_fraudulent: t.is_anomaly,
    anomaly_score: t.anomaly_score,
    risk_score: t.risk_score,
    risk_level: t.risk_level,
    confidence: t.confidence,
    decision: t.decision,
    matched_rules: t.matched_rules,
    ...(t.rule_errors.length > 0 ? { rule_errors: t.rule_errors } : {}),
    shap_explanation: t.explanation?.shap_explanation ?? {},
    shap_base_value: t.explanation?.shap_base_value ?? 0,
    risk_factors: t.explanation?.risk_factors ?? [],
    transaction: t.transaction,
    data_source: origin.dataSource,
    model_version: t.model_version,
    timestamp: origin.timestamp,
  };
}

/** One item of the contract's predict-batch answer: a scored row, or the input's error. */
export type BatchItem =
  | (Pick<
      ScoreResult,
      | 'transaction_id'
      | 'reference'
      | 'is_anomaly'
      | 'is_fraudulent'
      | 'anomaly_score'
      | 'risk_score'
      | 'risk_level'
      | 'confidence'
      | 'decision'
      | 'matched_rules'
      | 'rule_errors'
    > & { index: number; line?: number } & Partial<Pick<TransactionExplanation, 'shap_explanation' | 'risk_factors'>>)
  | { index: number; error: string; field: string; line?: number };

export function toBatchItem(t: ScoredTransaction, index: number, line: number | undefined): BatchItem {
  const item: BatchItem = {
    index,
    transaction_id: t.transaction_id,
    reference: t.reference,
    is_anomaly: t.is_anomaly,
    is_fraudulent: t.is_anomaly,
    anomaly_score: t.anomaly_score,
    risk_score: t.risk_score,
    risk_level: t.risk_level,
    confidence: t.confidence,
    decision: t.decision,
    matched_rules: t.matched_rules,
  };
  if (t.rule_errors.length > 0) item.rule_errors = t.rule_errors;
  if (line !== undefined) item.line = line;
  if (t.explanation) {
    item.shap_explanation = t.explanation.shap_explanation;
    item.risk_factors = t.explanation.risk_factors;
  }
  return item;
}

/**
 * The keys every answer item shares, transaction_id through rule_errors, as JSON text in the contract's order
 * (the inside of an object: no braces, no comma at either end).
 */
function scoresText(t: ScoredTransaction): string {
  const anomaly = t.is_anomaly ? 'true' : 'false';
  let text = `"transaction_id":${t.transaction_id === null ? 'null' : jsonNumber(t.transaction_id)}`;
  text += `,"reference":${t.reference === null ? 'null' : JSON.stringify(t.reference)}`;
  text += `,"is_anomaly":${anomaly},"is_fraudulent":${anomaly},"anomaly_score":${jsonNumber(t.anomaly_score)}`;
  text += `,"risk_score":${jsonNumber(t.risk_score)},"risk_level":${JSON.stringify(t.risk_level)}`;
  text += `,"confidence":${jsonNumber(t.confidence)},"decision":${JSON.stringify(t.decision)}`;
  text += `,"matched_rules":${t.matched_rules.length === 0 ? '[]' : JSON.stringify(t.matched_rules)}`;
  if (t.rule_errors.length > 0) text += `,"rule_errors":${JSON.stringify(t.rule_errors)}`;
  return text;
}

/**
 * JSON.stringify(toBatchItem(t, index, line)) as text, made without the item object, open at the end: the
 * explanation's two keys (when the row was explained) and the closing brace follow (batchItemText).
 */
export function batchItemHead(t: ScoredTransaction, index: number, line: number | undefined): string {
  const head = `{"index":${index},${scoresText(t)}`;
  return line === undefined ? head : `${head},"line":${jsonNumber(line)}`;
}

/**
 * The same bytes as JSON.stringify(toBatchItem(t, index, line)) when `t` carries no explanation object and
 * `explanation` is its explanation's text (or null: not explained). test/core/explanation-text.test.ts.
 */
export function batchItemText(
  t: ScoredTransaction,
  index: number,
  line: number | undefined,
  explanation: ExplanationText | null,
): string {
  const head = batchItemHead(t, index, line);
  return explanation
    ? `${head},"shap_explanation":${explanation.shap},"risk_factors":${explanation.factors}}`
    : `${head}}`;
}

/**
 * A stored transaction as the HTTP API lists it: every stored column, plus the contract's names for some
 * of them (is_anomaly, shap_explanation, risk_factors, timestamp) that the browser front end reads.
 */
export interface TransactionView extends StoredTransaction {
  is_anomaly: boolean;
  shap_explanation: Record<string, number> | null;
  risk_factors: RiskFactor[] | null;
  timestamp: string;
  feedback?: Feedback | null;
}

export function transactionView(row: StoredTransaction & { feedback?: Feedback | null }): TransactionView {
  // As stored: rows stored before explanations were kept whole may lack risk_factors (null here, not []).
  const explanation = (row.explanation ?? {}) as Partial<TransactionExplanation>;
  const view: TransactionView = {
    ...row,
    is_anomaly: row.is_fraudulent,
    shap_explanation: explanation.shap_explanation ?? null,
    risk_factors: explanation.risk_factors ?? null,
    timestamp: row.created_at,
  };
  if (row.feedback !== undefined) view.feedback = row.feedback;
  return view;
}
