/**
 * A backtest's report, as `rules test --format json` prints it and POST /api/rules/test answers: what was tested,
 * on what, and the figures (backtest.ts). One builder, so the CLI and the daemon give the same figures.
 */
import type { RiskRule } from '../../db/store.js';
import type { BacktestResult } from './backtest.js';
import type { RuleAction } from './decide.js';
import { type CompiledExpression, LEGACY_VARIABLES } from './rule-expression.js';

export interface BacktestReport extends BacktestResult {
  /** The stored rule tested, or (name, action and enabled null) the expression given. */
  rule: { name: string | null; action: RuleAction | null; enabled: boolean | null; expression: string };
  tested_on: { stored_since: string } | { files: string[] };
  /** The model that scored the files; null for stored transactions (tested as they were scored). */
  model_version: string | null;
  /** What the figures do not show (legacy fields that stored transactions do not keep), or null. */
  note: string | null;
}

export function backtestReport(args: {
  rule: Pick<RiskRule, 'name' | 'expression' | 'action' | 'enabled'> | null;
  expression: CompiledExpression;
  testedOn: BacktestReport['tested_on'];
  modelVersion: string | null;
  result: BacktestResult;
}): BacktestReport {
  const { rule, expression, testedOn } = args;
  const legacy = LEGACY_VARIABLES.filter((v) => expression.variables.has(v));
  const note =
    'stored_since' in testedOn && legacy.length > 0
      ? `stored transactions do not keep ${legacy.join(', ')}: ${legacy.length === 1 ? 'it reads' : 'they read'} as "" here`
      : null;
  return {
    rule: rule
      ? { name: rule.name, action: rule.action, enabled: rule.enabled, expression: rule.expression }
      : { name: null, action: null, enabled: null, expression: expression.source },
    tested_on: testedOn,
    model_version: args.modelVersion,
    ...args.result,
    note,
  };
}
