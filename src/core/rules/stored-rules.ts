import type { RiskRule, Store } from '../../db/store.js';
import type { RuleDefinition } from './apply-rules.js';

/** A stored rule as the scoring paths take it (what compileRules reads). */
export function ruleDefinition(rule: RiskRule): RuleDefinition {
  return { name: rule.name, expression: rule.expression, action: rule.action, enabled: rule.enabled };
}

/** The database's enabled rules, in its listing order (the order matched_rules lists them in). */
export async function enabledRules(store: Pick<Store, 'listRules'>): Promise<RuleDefinition[]> {
  return (await store.listRules()).filter((r) => r.enabled).map(ruleDefinition);
}
