import { FEATURE_COUNT } from '../model/features.js';
import type { IsolationForestModel } from '../model/model.js';
import { normalizeTransaction, type CanonicalTransaction } from '../model/transaction.js';
import { scoreFeatureRows } from './batch/score-features.js';
import { SecureflowError } from './errors.js';
import type { CompiledRule } from './rules/apply-rules.js';
import { applyRulesToBatch, LEGACY_FIELDS, legacyFieldsOf, type LegacyFields } from './rules/batch-rules.js';
import { scoredTransactionAt, type ScoredTransaction } from './scored-transaction.js';

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
  const n = items.length;
  const raw = new Float64Array(n * FEATURE_COUNT);
  items.forEach((item, i) => {
    raw.set(item.features, i * FEATURE_COUNT);
  });
  const references = items.map((item) => item.reference);
  const batch = scoreFeatureRows(model, 0, raw, n, references, true);
  applyRulesToBatch(rules, batch, model.thresholdRisk, (v) => items[v].legacy);
  return items.map((_, i) => scoredTransactionAt(model, batch, i));
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
