import { describe, expect, it } from 'vitest';
import { applyRules, compileRules, ruleInputOf } from '../../../src/core/rules/apply-rules.js';
import { checkRuleAction, checkRuleName, decide, type RuleMatch } from '../../../src/core/rules/decide.js';

const allow: RuleMatch = { name: 'vip', action: 'allow' };
const block: RuleMatch = { name: 'night-cash', action: 'block' };
const review: RuleMatch = { name: 'big', action: 'review' };

describe('decide', () => {
  it('no rule: the model decides (review when flagged, else allow)', () => {
    expect(decide([], true)).toEqual({ decision: 'review', decided_by: null });
    expect(decide([], false)).toEqual({ decision: 'allow', decided_by: null });
  });
  it('a matching allow rule wins over everything, the model included', () => {
    expect(decide([block, review, allow], true)).toEqual({ decision: 'allow', decided_by: 'vip' });
    expect(decide([allow], true)).toEqual({ decision: 'allow', decided_by: 'vip' });
    expect(decide([allow, block], false)).toEqual({ decision: 'allow', decided_by: 'vip' });
  });
  it('then block, over review and the model', () => {
    expect(decide([review, block], false)).toEqual({ decision: 'block', decided_by: 'night-cash' });
    expect(decide([block], true)).toEqual({ decision: 'block', decided_by: 'night-cash' });
  });
  it('then review, even when the model does not flag', () => {
    expect(decide([review], false)).toEqual({ decision: 'review', decided_by: 'big' });
    expect(decide([review], true)).toEqual({ decision: 'review', decided_by: 'big' });
  });
  it('the first matching rule of the winning action is named', () => {
    expect(decide([block, { name: 'b2', action: 'block' }], false).decided_by).toBe('night-cash');
  });
  it('checks names and actions', () => {
    expect(() => checkRuleName('night-cash_2.v1')).not.toThrow();
    expect(() => checkRuleName('-x')).toThrow(/name must be/);
    expect(() => checkRuleName('a b')).toThrow(/name must be/);
    expect(() => checkRuleAction('deny')).toThrow(/action must be one of allow, review, block/);
  });
});

describe('applyRules', () => {
  it('skips disabled rules, reports a rule failing on a row and still decides by the others', () => {
    const rules = compileRules([
      { name: 'night', expression: 'amount > 3000 && hour < 5', action: 'block', enabled: true },
      { name: 'off', expression: 'true', action: 'allow', enabled: false },
      { name: 'ratio', expression: '100 / int(hour) > 5', action: 'review', enabled: true },
    ]);
    expect(rules.map((r) => r.name)).toEqual(['night', 'ratio']);
    const scored = {
      transaction: { amount: 4800, hour: 0, day_of_week: 6, merchant_category: 9, transaction_type: 2 },
      reference: null,
      anomaly_score: 0.7,
      risk_score: 99,
      risk_level: 'highest' as const,
      is_anomaly: true,
    };
    const applied = applyRules(rules, ruleInputOf(scored), true);
    expect(applied.decision).toBe('block');
    expect(applied.matched_rules).toEqual([{ name: 'night', action: 'block' }]);
    expect(applied.rule_errors).toEqual([{ rule: 'ratio', error: expect.stringMatching(/divi/i) }]);
  });
});
