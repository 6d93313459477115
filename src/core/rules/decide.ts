/**
 * What happens to a transaction, from the rules it matched and the model's flag. Precedence as in Stripe Radar:
 * a matching allow rule wins, then block, then review; with no matching rule, review when the model flags it,
 * else allow. Pure: no I/O, the same answer for the same input on every face (CLI, daemon).
 */
import { SecureflowError } from '../errors.js';

export const RULE_ACTIONS = ['allow', 'review', 'block'] as const;
export type RuleAction = (typeof RULE_ACTIONS)[number];
export type Decision = RuleAction;

export interface RuleMatch {
  name: string;
  action: RuleAction;
}

export interface DecisionResult {
  decision: Decision;
  /** The rule that decided (the first matching one of the winning action), or null when the model did. */
  decided_by: string | null;
}

const PRECEDENCE: readonly RuleAction[] = ['allow', 'block', 'review'];

export function decide(matched: readonly RuleMatch[], modelFlagged: boolean): DecisionResult {
  for (const action of PRECEDENCE) {
    const rule = matched.find((m) => m.action === action);
    if (rule) return { decision: action, decided_by: rule.name };
  }
  return { decision: modelFlagged ? 'review' : 'allow', decided_by: null };
}

/** A decision as stored: its index in RULE_ACTIONS (0 allow, 1 review, 2 block); with no rule, the model's flag. */
export type DecisionCode = 0 | 1 | 2;

export function decisionCode(decision: Decision): DecisionCode {
  return RULE_ACTIONS.indexOf(decision) as DecisionCode;
}

export function decisionOf(code: number): Decision {
  const decision = RULE_ACTIONS[code];
  if (decision === undefined) throw new Error(`no decision has code ${code}`);
  return decision;
}

export function isRuleAction(value: unknown): value is RuleAction {
  return typeof value === 'string' && (RULE_ACTIONS as readonly string[]).includes(value);
}

/** A rule's name: 1 to 64 letters, digits, `_`, `-` or `.`, starting with a letter or digit. */
export const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Throws SecureflowError('invalid') naming the field when a rule's name or action cannot be used. */
export function checkRuleName(name: string): void {
  if (!RULE_NAME.test(name))
    throw new SecureflowError(
      'invalid',
      `name must be 1 to 64 letters, digits, _, - or ., starting with a letter or digit; got ${JSON.stringify(name)}`,
      { field: 'name' },
    );
}

export function checkRuleAction(action: string): asserts action is RuleAction {
  if (!isRuleAction(action))
    throw new SecureflowError(
      'invalid',
      `action must be one of ${RULE_ACTIONS.join(', ')}; got ${JSON.stringify(action)}`,
      {
        field: 'action',
      },
    );
}
