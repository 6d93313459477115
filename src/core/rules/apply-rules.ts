/**
 * Rules compiled once and applied to scored transactions: which matched, which failed on this row (reported on
 * the row; they never fail the others), and the decision. The one path every face will share.
 */
import { compileExpression, type CompiledExpression, type RuleInput } from './rule-expression.js';
import { decide, type DecisionResult, type RuleAction, type RuleMatch } from './decide.js';
import type { ScoredTransaction } from '../scored-transaction.js';

export interface RuleDefinition {
  name: string;
  expression: string;
  action: RuleAction;
  enabled: boolean;
}

export interface CompiledRule {
  name: string;
  action: RuleAction;
  expression: CompiledExpression;
}

export interface RuleErrorOnRow {
  rule: string;
  error: string;
}

export interface AppliedRules extends DecisionResult {
  matched_rules: RuleMatch[];
  rule_errors: RuleErrorOnRow[];
}

/** Compiles the enabled rules (a stored rule was checked when added; compiling again cannot fail unless the
 * variables changed since, which then names the rule). */
export function compileRules(rules: readonly RuleDefinition[]): CompiledRule[] {
  return rules
    .filter((r) => r.enabled)
    .map((r) => {
      try {
        return { name: r.name, action: r.action, expression: compileExpression(r.expression) };
      } catch (e) {
        (e as Error).message = `rule ${r.name}: ${(e as Error).message}`;
        throw e;
      }
    });
}

export function applyRules(rules: readonly CompiledRule[], input: RuleInput, modelFlagged: boolean): AppliedRules {
  const matched: RuleMatch[] = [];
  const errors: RuleErrorOnRow[] = [];
  for (const rule of rules) {
    const outcome = rule.expression.evaluate(input);
    if (!outcome.ok) errors.push({ rule: rule.name, error: outcome.error });
    else if (outcome.matched) matched.push({ name: rule.name, action: rule.action });
  }
  return { ...decide(matched, modelFlagged), matched_rules: matched, rule_errors: errors };
}

/** What a rule sees of a scored transaction, with the legacy fields the input carried (when it did). */
export function ruleInputOf(
  scored: Pick<
    ScoredTransaction,
    'transaction' | 'reference' | 'anomaly_score' | 'risk_score' | 'risk_level' | 'is_anomaly'
  >,
  legacy: { merchant?: string | null; category?: string | null; type?: string | null } = {},
): RuleInput {
  return {
    ...scored.transaction,
    merchant: legacy.merchant ?? null,
    category: legacy.category ?? null,
    type: legacy.type ?? null,
    reference: scored.reference,
    anomaly_score: scored.anomaly_score,
    risk_score: scored.risk_score,
    risk_level: scored.risk_level,
    is_anomaly: scored.is_anomaly,
  };
}
