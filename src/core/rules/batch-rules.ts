/**
 * The enabled rules applied to a scored block of rows (a ScoredBatch), the one step every scoring path shares:
 * a CSV chunk in a worker, a predict-batch body, `/api/predict`'s micro-batch, a single CLI transaction. The
 * outcome is kept on the batch column by column (a decision code per row, and the matched rules and run-time
 * errors of the rows that have any), so that it crosses threads with the scores and every view reads it there.
 */
import { riskLevel } from '../../model/explain.js';
import { FEATURE_COUNT } from '../../model/features.js';
import type { ScoredBatch } from '../batch/score-chunk.js';
import { DIGITS, round } from '../scored-transaction.js';
import type { CompiledRule, RuleErrorOnRow } from './apply-rules.js';
import { BLOCK_ROWS, newRuleBlock, type RuleBlock } from './column-expression.js';
import { decisionCode, type RuleMatch } from './decide.js';
import type { RuleInput } from './rule-expression.js';

/** The legacy text fields of an input row, when it had them (null where it did not). */
export interface LegacyFields {
  merchant: string | null;
  category: string | null;
  type: string | null;
}

export const LEGACY_FIELDS = ['merchant', 'category', 'type'] as const;

/** Row v's legacy fields, or null when the input had none. */
export type LegacyOf = (v: number) => LegacyFields | null;

/** A legacy field as a rule sees it: text as given (trimmed), a number as its text; anything else absent. */
export function legacyText(value: unknown): string | null {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

/** The legacy fields of one input, read through `get` (a JSON object's keys, a CSV row's columns). */
export function legacyFieldsOf(get: (name: string) => unknown): LegacyFields {
  return {
    merchant: legacyText(get('merchant')),
    category: legacyText(get('category')),
    type: legacyText(get('type')),
  };
}

/** Which groups of variables the rules read: the others are not filled in per row. */
function variablesRead(rules: readonly CompiledRule[]) {
  const reads = (names: readonly string[]) =>
    rules.some((r) => names.some((name) => r.expression.variables.has(name as never)));
  return {
    legacy: reads(LEGACY_FIELDS),
    reference: reads(['reference']),
    scores: reads(['anomaly_score', 'risk_score']),
    level: reads(['risk_level']),
  };
}

/** Whether any rule reads a legacy field (when none does, a CSV path need not split rows into cells for them). */
export function rulesReadLegacy(rules: readonly CompiledRule[]): boolean {
  return rules.some((r) => LEGACY_FIELDS.some((f) => r.expression.variables.has(f)));
}

/**
 * Applies `rules` to every row of `batch` and records the outcome on it: `decisions` (always), and `matchedRules`
 * and `ruleErrors` (null when there are no rules; per row, null where nothing matched or failed). The variables
 * hold the values every face shows (scores rounded as printed), so a rule on `risk_score > 95` agrees with what
 * the user reads. Rows go a block at a time: rules that can be evaluated column-wise (./column-expression.ts) run
 * as tight loops over the block; the others row by row. Allocates nothing per row unless a rule matches or fails.
 * Rows [from, to) only, when given: a daemon's batch comes back from scoring a slice at a time, and its rows are
 * made as each slice arrives; the other rows' outcomes are kept.
 */
export function applyRulesToBatch(
  rules: readonly CompiledRule[],
  batch: ScoredBatch,
  thresholdRisk: number,
  legacyOf: LegacyOf | null,
  from = 0,
  to = batch.count,
): void {
  const n = batch.count;
  batch.decisions ??= new Uint8Array(n);
  const decisions = batch.decisions;
  if (rules.length === 0) {
    // No rule: review what the model flags (code 1), allow the rest.
    decisions.set(batch.isAnomaly.subarray(from, to), from);
    batch.matchedRules = null;
    batch.ruleErrors = null;
    return;
  }
  batch.matchedRules ??= new Array(n).fill(null);
  batch.ruleErrors ??= new Array(n).fill(null);
  const matchedRules = batch.matchedRules;
  const ruleErrors = batch.ruleErrors;
  const count = rules.length;
  const codes = rules.map((r) => decisionCode(r.action));
  // Precedence (decide.ts): allow, then block, then review, then the model's flag. Codes: allow 0, review 1,
  // block 2; ranks: allow 3, block 2, review 1.
  const ranks = codes.map((c) => (c === 0 ? 3 : c === 2 ? 2 : 1));
  // One {name, action} per rule, shared by every row it matches (read-only): no object per match.
  const matches: RuleMatch[] = rules.map((r) => Object.freeze({ name: r.name, action: r.action }));
  const columns = rules.map((r) => r.expression.column);
  const rowWise = columns.some((c) => c === null);
  const read = variablesRead(rules);
  const block = sharedBlock();
  const results: (Uint8Array | null)[] = new Array(count).fill(null);
  const input = emptyInput();
  const x = batch.features;
  const [amount, hour, day, category, type, anomaly, risk] = block.numbers;
  const [merchantOf, categoryOf, typeOf, referenceOf, levelOf] = block.strings;
  const anyHit = new Uint8Array(BLOCK_ROWS);
  for (let start = from; start < to; start += BLOCK_ROWS) {
    const m = Math.min(BLOCK_ROWS, to - start);
    block.n = m;
    // The block's variables, column by column (only those a rule reads, beyond the five features).
    for (let i = 0; i < m; i++) {
      const v = start + i;
      const f = v * FEATURE_COUNT;
      amount[i] = x[f];
      hour[i] = x[f + 1];
      day[i] = x[f + 2];
      category[i] = x[f + 3];
      type[i] = x[f + 4];
      block.isAnomaly[i] = batch.isAnomaly[v];
      if (read.scores) {
        anomaly[i] = round(batch.anomalyScore[v], DIGITS.anomaly_score);
        risk[i] = round(batch.riskScore[v], DIGITS.risk_score);
      }
      if (read.level) levelOf[i] = riskLevel(batch.riskScore[v], thresholdRisk, batch.isAnomaly[v] === 1);
      if (read.reference) referenceOf[i] = (batch.references ? batch.references[v] : null) ?? '';
      if (read.legacy) {
        const legacy = legacyOf ? legacyOf(v) : null;
        merchantOf[i] = legacy?.merchant ?? '';
        categoryOf[i] = legacy?.category ?? '';
        typeOf[i] = legacy?.type ?? '';
      }
    }
    for (let k = 0; k < count; k++) {
      const column = columns[k];
      results[k] = column ? column(block) : null;
    }
    // With every rule column-wise, rows no rule matched (most) are decided by the model's flag without visiting
    // each rule: one OR per rule over the block first.
    if (!rowWise) {
      anyHit.fill(0, 0, m);
      for (let k = 0; k < count; k++) {
        const result = results[k]!;
        for (let i = 0; i < m; i++) anyHit[i] |= result[i];
      }
    }
    for (let i = 0; i < m; i++) {
      const v = start + i;
      if (!rowWise && anyHit[i] === 0) {
        decisions[v] = block.isAnomaly[i];
        continue;
      }
      const flagged = block.isAnomaly[i] === 1;
      if (rowWise) fillInput(input, block, i);
      let best = 0;
      let bestCode = flagged ? 1 : 0;
      let matched: RuleMatch[] | null = null;
      for (let k = 0; k < count; k++) {
        const result = results[k];
        let hit: boolean;
        if (result !== null) hit = result[i] === 1;
        else {
          const outcome = rules[k].expression.evaluate(input);
          if (!outcome.ok) {
            let errors = ruleErrors[v];
            if (!errors) errors = ruleErrors[v] = [];
            errors.push({ rule: rules[k].name, error: outcome.error });
            continue;
          }
          hit = outcome.matched;
        }
        if (!hit) continue;
        if (matched === null) matched = matchedRules[v] = [];
        matched.push(matches[k]);
        if (ranks[k] > best) {
          best = ranks[k];
          bestCode = codes[k];
        }
      }
      decisions[v] = bestCode;
    }
  }
}

let block: RuleBlock | null = null;
/** One block per thread, reused: applyRulesToBatch is synchronous, so no two calls use it at once. */
function sharedBlock(): RuleBlock {
  block ??= newRuleBlock();
  return block;
}

function emptyInput(): RuleInput {
  return {
    amount: 0,
    hour: 0,
    day_of_week: 0,
    merchant_category: 0,
    transaction_type: 0,
    merchant: null,
    category: null,
    type: null,
    reference: null,
    anomaly_score: 0,
    risk_score: 0,
    risk_level: 'normal',
    is_anomaly: false,
  };
}

/** Row i of the block as one RuleInput, for the rules evaluated row by row. */
function fillInput(input: RuleInput, b: RuleBlock, i: number): void {
  const [amount, hour, day, category, type, anomaly, risk] = b.numbers;
  input.amount = amount[i];
  input.hour = hour[i];
  input.day_of_week = day[i];
  input.merchant_category = category[i];
  input.transaction_type = type[i];
  input.anomaly_score = anomaly[i];
  input.risk_score = risk[i];
  input.merchant = b.strings[0][i];
  input.category = b.strings[1][i];
  input.type = b.strings[2][i];
  input.reference = b.strings[3][i];
  input.risk_level = b.strings[4][i];
  input.is_anomaly = b.isAnomaly[i] === 1;
}
