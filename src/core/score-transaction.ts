import { FEATURE_COUNT } from '../model/features.js';
import type { IsolationForestModel } from '../model/model.js';
import { normalizeTransaction, type CanonicalTransaction } from '../model/transaction.js';
import { scoreFeatureRows } from './batch/score-features.js';
import { SecureflowError } from './errors.js';
import type { CompiledRule } from './rules/apply-rules.js';
import { applyRulesToBatch, LEGACY_FIELDS, legacyFieldsOf, type LegacyFields } from './rules/batch-rules.js';
import {
  explanationText,
  scoredTransactionAt,
  type ExplanationText,
  type ScoredTransaction,
} from './scored-transaction.js';

/** A transaction that passed validation: its canonical fields, raw features and the caller's reference. */
export interface ValidTransaction {
  transaction: CanonicalTransaction;
  features: Float64Array;
  reference: string | null;
  /** The legacy merchant/category/type it carried, for rules (null when it had none). */
  legacy: LegacyFields | null;
}

/** Validates one transaction (canonical or legacy). Throws invalid naming the field. */
export function validateTransaction(input: unknown): ValidTransaction {
  const normalized = normalizeTransaction(input);
  if (!normalized.ok) {
    const { field, reason } = normalized.error;
    throw new SecureflowError('invalid', `${field} ${reason}`, { field });
  }
  const record = input as Record<string, unknown>;
  const hasLegacy = LEGACY_FIELDS.some((f) => Object.hasOwn(record, f));
  const legacy = hasLegacy ? legacyFieldsOf((name) => (Object.hasOwn(record, name) ? record[name] : undefined)) : null;
  return { ...normalized, legacy };
}

/**
 * Scores and explains valid transactions together (the kernels want blocks of rows): the one path behind
 * `secureflow score` for single transactions and the daemon's /api/predict.
 */
export function scoreValid(
  model: IsolationForestModel,
  items: readonly ValidTransaction[],
  rules: readonly CompiledRule[],
): ScoredTransaction[] {
  const batch = scoreItems(model, items, rules);
  return items.map((_, i) => scoredTransactionAt(model, batch, i));
}

/** A scored transaction whose explanation is JSON text (explanation: null on the object), as predict-batch makes it. */
export interface ScoredWithText {
  scored: ScoredTransaction;
  explanation: ExplanationText;
  /** The model that scored it (its base value goes with the explanation). */
  model: IsolationForestModel;
}

/**
 * scoreValid, each explanation written as JSON text (explanationText) instead of objects: the daemon's /api/predict
 * stores and answers it as text, and the objects were a fifth of what a request allocated. Same values.
 */
export function scoreValidAsText(
  model: IsolationForestModel,
  items: readonly ValidTransaction[],
  rules: readonly CompiledRule[],
): ScoredWithText[] {
  const batch = scoreItems(model, items, rules);
  const shap = batch.shap!;
  const plain = { ...batch, shap: null };
  return items.map((_, i) => ({
    scored: scoredTransactionAt(model, plain, i),
    explanation: explanationText(model, batch.features, shap, i),
    model,
  }));
}

function scoreItems(model: IsolationForestModel, items: readonly ValidTransaction[], rules: readonly CompiledRule[]) {
  const n = items.length;
  const raw = new Float64Array(n * FEATURE_COUNT);
  for (let i = 0; i < n; i++) raw.set(items[i].features, i * FEATURE_COUNT);
  const references = items.map((item) => item.reference);
  const batch = scoreFeatureRows(model, 0, raw, n, references, true);
  applyRulesToBatch(rules, batch, model.thresholdRisk, (v) => items[v].legacy);
  return batch;
}

/**
 * Validates, scores and explains one transaction (canonical or legacy), and applies the rules (compiled enabled
 * rules; none: the model's flag decides). Throws invalid naming the field.
 */
export function scoreTransaction(
  model: IsolationForestModel,
  input: unknown,
  rules: readonly CompiledRule[],
): ScoredTransaction {
  return scoreValid(model, [validateTransaction(input)], rules)[0];
}
