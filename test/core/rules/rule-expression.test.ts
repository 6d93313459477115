import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SecureflowError, exitCodeOf } from '../../../src/core/errors.js';
import { compileExpression, type RuleInput } from '../../../src/core/rules/rule-expression.js';

const tx = (over: Partial<RuleInput> = {}): RuleInput => ({
  amount: 4800,
  hour: 3,
  day_of_week: 6,
  merchant_category: 9,
  transaction_type: 2,
  anomaly_score: 0.71,
  risk_score: 99.5,
  risk_level: 'highest',
  is_anomaly: true,
  ...over,
});

const matches = (source: string, input: RuleInput = tx()) => {
  const outcome = compileExpression(source).evaluate(input);
  if (!outcome.ok) throw new Error(outcome.error);
  return outcome.matched;
};

function refusal(source: string): SecureflowError {
  try {
    compileExpression(source);
  } catch (e) {
    expect(e).toBeInstanceOf(SecureflowError);
    return e as SecureflowError;
  }
  throw new Error(`${source} was accepted`);
}

describe('rule expressions', () => {
  it('compares the double features with int literals as a user expects', () => {
    expect(matches('amount > 3000 && hour < 5')).toBe(true);
    expect(matches('amount > 3000 && hour < 5', tx({ hour: 5 }))).toBe(false);
    expect(matches('amount > 3000 && hour < 5', tx({ amount: 3000 }))).toBe(false);
    expect(matches('amount > 3000')).toBe(true);
    expect(matches('hour < 5')).toBe(true);
    expect(matches('hour == 3 && day_of_week >= 5')).toBe(true);
    expect(matches('amount >= 4799.5 && amount <= 4800u')).toBe(true);
    expect(matches('hour in [1, 2, 3]')).toBe(true);
    expect(matches('hour in [1, 2]')).toBe(false);
    expect(matches('amount * 2 > 9000 && amount - 800 == 4000 && -amount < -1')).toBe(true);
    expect(matches('amount / 3 > 1599.9')).toBe(true);
  });

  it('sees the model outputs and the legacy strings (empty when absent)', () => {
    expect(matches('is_anomaly && risk_level == "highest" && risk_score > 99 && anomaly_score > 0.7')).toBe(true);
    expect(matches('!is_anomaly || risk_level != "highest"')).toBe(false);
    const legacy = tx({ merchant: 'QuickCash ATM', type: 'withdrawal', reference: 'T-1' });
    expect(matches('merchant.startsWith("Quick") && type == "withdrawal" && reference == "T-1"', legacy)).toBe(true);
    expect(matches('merchant.matches("(?i)cash") && size(merchant) == 13 && category == ""', legacy)).toBe(true);
    expect(matches('merchant == ""')).toBe(true);
    expect(matches('int(amount) % 7 == 5 && string(int(hour)) == "3" && double(size(merchant)) < amount')).toBe(true);
    expect(matches('amount > 1000 ? hour < 5 : false')).toBe(true);
  });

  it('refuses a syntax error with its line and column', () => {
    const e = refusal('amount >');
    expect(e.kind).toBe('invalid');
    expect(exitCodeOf(e.kind)).toBe(3);
    expect(e.message).toMatch(/^expression: line 1, column \d+: syntax error: /);
    expect(e.details).toMatchObject({ field: 'expression', position: { line: 1 } });
    const multi = refusal('amount > 3000 &&\n  hour <');
    expect(multi.message).toMatch(/line 2, column \d+: syntax error/);
  });

  it('refuses an unknown variable at its position, with a suggestion', () => {
    const e = refusal('hour < 5 && amont > 3000');
    expect(e.message).toMatch(/^expression: line 1, column 13: unknown variable amont \(did you mean amount\?\)/);
    expect(e.details).toMatchObject({ position: { offset: 12, line: 1, column: 13 } });
    expect(refusal('merchant.name == "x"').message).toMatch(/variables have no fields/);
  });

  it('refuses an expression that is not a bool', () => {
    expect(refusal('amount + 1').message).toMatch(/must be true or false, but this expression is a double/);
    expect(refusal('risk_level').message).toMatch(/is a string/);
    expect(refusal('size(merchant)').message).toMatch(/is an int/);
  });

  it('refuses wrong types, unknown functions and unsupported forms', () => {
    expect(refusal('merchant > 3').message).toMatch(/cannot compare a string with an int/);
    expect(refusal('merchant == 3').message).toMatch(/cannot compare a string with an int/);
    expect(refusal('is_anomaly && amount').message).toMatch(/needs a bool, got a double/);
    expect(refusal('hour % 2 == 0').message).toMatch(/% works on integers/);
    expect(refusal('size(merchant) + amount > 3').message).toMatch(/mixes an int and a double/);
    expect(refusal('lower(merchant) == "x"').message).toMatch(/unknown function lower/);
    expect(refusal('[1, 2].exists(x, x > 1)').message).toMatch(/macros/);
    expect(refusal('has(merchant.name)').message).toMatch(/has\(\) is not needed/);
    expect(refusal('merchant == null').message).toMatch(/null/);
    expect(refusal('merchant.matches("(")').message).toMatch(/not a valid RE2 pattern/);
    expect(refusal('  ').message).toMatch(/must not be empty/);
  });

  it('reports a failure at run time on that transaction only', () => {
    const rule = compileExpression('100 / int(hour) > 5');
    expect(rule.evaluate(tx({ hour: 3 }))).toEqual({ ok: true, matched: true });
    const failed = rule.evaluate(tx({ hour: 0 }));
    expect(failed.ok).toBe(false);
    expect((failed as { error: string }).error).toMatch(/divi/i);
    expect(rule.evaluate(tx({ hour: 10 }))).toEqual({ ok: true, matched: true });
    expect(compileExpression('int(amount) > 1').evaluate(tx({ amount: 1e30 })).ok).toBe(false);
  });

  it('lists the variables it names', () => {
    expect([...compileExpression('merchant == "x" || amount > 1').variables].sort()).toEqual(['amount', 'merchant']);
  });
});

describe('@bufbuild/cel', () => {
  it('never uses eval or new Function', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.js')) files.push(path);
      }
    };
    for (const pkg of ['cel', 're2', 'cel-spec', 'protobuf']) walk(`node_modules/@bufbuild/${pkg}/dist/esm`);
    expect(files.length).toBeGreaterThan(20);
    // A call of eval or Function (method definitions named eval, `eval(ctx) {`, are the interpreter's own).
    const code = /\bnew\s+Function\b|(?<![.\w])(?:eval|Function)\s*\([^()]*\)(?!\s*\{)/;
    const offenders = files.filter((f) => code.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
