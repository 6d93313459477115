import { describe, expect, it } from 'vitest';
import { applyRules, compileRules, type RuleDefinition } from '../../../src/core/rules/apply-rules.js';
import { applyRulesToBatch } from '../../../src/core/rules/batch-rules.js';
import { compileExpression, type RuleInput } from '../../../src/core/rules/rule-expression.js';
import { NUMBER_SLOTS, newRuleBlock, STRING_SLOTS, type RuleBlock } from '../../../src/core/rules/column-expression.js';
import type { ScoredBatch } from '../../../src/core/batch/score-chunk.js';
import { riskLevel } from '../../../src/model/explain.js';

/** A small seeded generator (mulberry32): the same expressions and inputs on every run. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  return { next, pick };
}

const NUMBERS = [
  'amount',
  'hour',
  'day_of_week',
  'merchant_category',
  'transaction_type',
  'anomaly_score',
  'risk_score',
];
const STRINGS = ['merchant', 'category', 'type', 'reference', 'risk_level'];
const WORDS = ['', 'shop', 'vip', 'highest', 'normal', 'Shop', 'ü😀', 'x'];

/** Random boolean expressions over the forms rules use (and some the fast path leaves to the interpreter). */
function expression(r: ReturnType<typeof random>, depth: number): string {
  const num = (): string => {
    const k = r.next();
    if (k < 0.45 || depth <= 0) return r.pick(NUMBERS);
    if (k < 0.7) return r.pick(['0', '3', '5', '3000', '-2', '0.5', '99.5', '1e3']);
    if (k < 0.9) return `(${num()} ${r.pick(['+', '-', '*', '/'])} ${r.pick(NUMBERS)})`;
    return `double(${r.pick(['hour', '2'])})`;
  };
  const str = (): string => (r.next() < 0.6 ? r.pick(STRINGS) : JSON.stringify(r.pick(WORDS)));
  const op = () => r.pick(['<', '<=', '>', '>=', '==', '!=']);
  // Constants the inputs often equal (amounts 0, 1, 2.5, 3000; small integer features): boundaries get tested.
  const hit = () => r.pick(['0', '1', '2', '3', '5', '2.5', '3000', '0.0']);
  const k = r.next();
  if (k < 0.2) return `${r.pick(NUMBERS)} ${op()} ${hit()}`;
  if (k < 0.25) return `${hit()} ${op()} ${r.pick(NUMBERS)}`;
  if (depth <= 0 || k < 0.4) return `${num()} ${op()} ${num()}`;
  if (k < 0.45) return `${r.pick(STRINGS)} ${r.pick(['==', '!='])} ${str()}`;
  if (k < 0.48) return `${r.pick(STRINGS)}.${r.pick(['contains', 'startsWith', 'endsWith'])}(${str()})`;
  if (k < 0.55) return `${r.pick(['hour', 'merchant_category', 'transaction_type'])} in [1, 2, 3, 22]`;
  if (k < 0.6) return `${r.pick(STRINGS)} in ["vip", "highest", ""]`;
  if (k < 0.65) return r.pick(['is_anomaly', '!is_anomaly', 'true', 'false']);
  if (k < 0.7) return `!(${expression(r, depth - 1)})`;
  if (k < 0.75) return `(${expression(r, depth - 1)} ? ${num()} : ${num()}) > 2`;
  if (k < 0.78) return `size(${r.pick(STRINGS)}) > 2`; // the interpreter's
  return `(${expression(r, depth - 1)}) ${r.pick(['&&', '||'])} (${expression(r, depth - 1)})`;
}

function input(r: ReturnType<typeof random>): RuleInput {
  const flagged = r.next() < 0.3;
  const risk = Math.round(r.next() * 10000) / 100;
  return {
    amount: r.pick([0, 1, 2.5, 3000, 3000.01, 12_345.67, Math.round(r.next() * 1e6) / 100]),
    hour: Math.floor(r.next() * 24),
    day_of_week: Math.floor(r.next() * 7),
    merchant_category: Math.floor(r.next() * 10),
    transaction_type: Math.floor(r.next() * 3),
    merchant: r.next() < 0.3 ? null : r.pick(WORDS),
    category: r.next() < 0.5 ? null : r.pick(WORDS),
    type: r.next() < 0.5 ? null : r.pick(WORDS),
    reference: r.next() < 0.5 ? null : r.pick(WORDS),
    anomaly_score: Math.round(r.next() * 1e6) / 1e6,
    risk_score: risk,
    risk_level: riskLevel(risk, 97.5, flagged),
    is_anomaly: flagged,
  };
}

/** The inputs as one block of columns (as applyRulesToBatch fills it). */
function blockOf(inputs: RuleInput[]): RuleBlock {
  const b = newRuleBlock();
  b.n = inputs.length;
  inputs.forEach((x, i) => {
    NUMBER_SLOTS.forEach((name, s) => {
      b.numbers[s][i] = x[name];
    });
    STRING_SLOTS.forEach((name, s) => {
      b.strings[s][i] = x[name] ?? '';
    });
    b.isAnomaly[i] = x.is_anomaly ? 1 : 0;
  });
  return b;
}

describe('fast rule expressions (closures, columns) agree with the CEL interpreter', () => {
  it('on 400 random expressions, each over 200 random transactions', () => {
    const r = random(15);
    let fast = 0;
    let columns = 0;
    let compared = 0;
    for (let i = 0; i < 400; i++) {
      const source = expression(r, 3);
      let closures: ReturnType<typeof compileExpression>;
      try {
        closures = compileExpression(source);
      } catch {
        continue; // refused by the checker (e.g. a string compared with a number): both paths refuse it alike
      }
      const interpreter = compileExpression(source, { interpreter: true });
      expect(interpreter.fast).toBe(false);
      if (closures.fast) fast++;
      const inputs = Array.from({ length: 200 }, () => input(r));
      const column = closures.column ? closures.column(blockOf(inputs)) : null;
      if (column) columns++;
      inputs.forEach((x, j) => {
        const expected = interpreter.evaluate(x);
        expect(closures.evaluate(x), `${source} on ${JSON.stringify(x)}`).toEqual(expected);
        if (column && expected.ok)
          expect(column[j] === 1, `${source} (columns) on ${JSON.stringify(x)}`).toBe(expected.matched);
        compared++;
      });
    }
    // Most generated expressions take the fast path; the rest prove the fallback gives the same answers too.
    expect(fast).toBeGreaterThan(200);
    expect(columns).toBeGreaterThan(200);
    expect(compared).toBeGreaterThan(50_000);
  });

  it('takes the common forms, and leaves integer arithmetic, conversions, size and regexes to the interpreter', () => {
    for (const source of [
      'amount > 3000 && hour < 5',
      'hour in [0, 1, 2]',
      'merchant == "vip" || category.startsWith("gam")',
      'amount * 2 > 100 && !is_anomaly',
      'risk_level == "highest" ? amount > 10 : amount > 1000',
      'amount > -1',
    ]) {
      expect(compileExpression(source).fast, source).toBe(true);
      expect(compileExpression(source).column, source).not.toBeNull();
    }
    for (const source of [
      'int(amount) % 2 == 0',
      'size(merchant) > 3',
      'merchant.matches("^v")',
      'merchant < "m"',
      '1 / (int(hour) - 3) > 0',
    ])
      expect(compileExpression(source).fast, source).toBe(false);
  });

  it('a run-time failure stays an error on that row (the interpreter path)', () => {
    const rule = compileExpression('1 / (int(hour) - 3) > 0');
    expect(rule.evaluate({ ...input(random(1)), hour: 3 })).toMatchObject({ ok: false });
    expect(rule.evaluate({ ...input(random(1)), hour: 4 })).toEqual({ ok: true, matched: true });
  });
});

describe('rules over a scored block (applyRulesToBatch) decide as applyRules does, row by row', () => {
  it('on every combination of allow, block and review rules, with and without the model flag', () => {
    const definitions: RuleDefinition[] = [
      { name: 'allow-small', expression: 'amount < 10', action: 'allow', enabled: true },
      { name: 'block-big', expression: 'amount > 1000', action: 'block', enabled: true },
      { name: 'review-night', expression: 'hour < 5', action: 'review', enabled: true },
      { name: 'block-vip-typo', expression: 'merchant == "vlp"', action: 'block', enabled: true },
      { name: 'off', expression: 'true', action: 'block', enabled: false },
      { name: 'fails', expression: '1 / (int(hour) - 2) > 0', action: 'review', enabled: true },
    ];
    const rules = compileRules(definitions);
    const amounts = [5, 500, 5000];
    const hours = [1, 2, 12];
    const rows: { amount: number; hour: number; flagged: boolean; merchant: string | null }[] = [];
    for (const amount of amounts)
      for (const hour of hours)
        for (const flagged of [false, true])
          for (const merchant of [null, 'vlp']) rows.push({ amount, hour, flagged, merchant });
    const n = rows.length;
    const batch: ScoredBatch = {
      seq: 0,
      count: n,
      features: Float64Array.from(rows.flatMap((x) => [x.amount, x.hour, 1, 2, 0])),
      anomalyScore: Float64Array.from(rows.map((x) => (x.flagged ? 0.7 : 0.4))),
      riskScore: Float64Array.from(rows.map((x) => (x.flagged ? 99 : 40))),
      confidence: new Float64Array(n),
      isAnomaly: Uint8Array.from(rows.map((x) => (x.flagged ? 1 : 0))),
      references: null,
      shap: null,
      stopped: false,
      decisions: null,
      matchedRules: null,
      ruleErrors: null,
    };
    applyRulesToBatch(rules, batch, 97.5, (v) => ({ merchant: rows[v].merchant, category: null, type: null }));
    rows.forEach((x, v) => {
      const expected = applyRules(
        rules,
        {
          amount: x.amount,
          hour: x.hour,
          day_of_week: 1,
          merchant_category: 2,
          transaction_type: 0,
          merchant: x.merchant,
          anomaly_score: x.flagged ? 0.7 : 0.4,
          risk_score: x.flagged ? 99 : 40,
          risk_level: x.flagged ? 'highest' : 'normal',
          is_anomaly: x.flagged,
        },
        x.flagged,
      );
      expect(['allow', 'review', 'block'][batch.decisions![v]], JSON.stringify(x)).toBe(expected.decision);
      expect(batch.matchedRules![v] ?? []).toEqual(expected.matched_rules);
      expect(batch.ruleErrors![v] ?? []).toEqual(expected.rule_errors);
    });
    // The failing rule failed on hour 2 rows only, and those rows were still decided by the others.
    expect(rows.filter((_, v) => batch.ruleErrors![v]).every((x) => x.hour === 2)).toBe(true);
    expect(batch.decisions!.filter((c) => c === 0).length).toBeGreaterThan(0);
    expect(batch.decisions!.filter((c) => c === 1).length).toBeGreaterThan(0);
    expect(batch.decisions!.filter((c) => c === 2).length).toBeGreaterThan(0);
  });

  it('without rules, the model decides: review what it flags, allow the rest', () => {
    const batch = {
      count: 3,
      features: new Float64Array(15),
      anomalyScore: new Float64Array(3),
      riskScore: new Float64Array(3),
      isAnomaly: Uint8Array.from([1, 0, 1]),
      references: null,
    } as unknown as ScoredBatch;
    applyRulesToBatch([], batch, 97.5, null);
    expect(Array.from(batch.decisions!)).toEqual([1, 0, 1]);
    expect(batch.matchedRules).toBeNull();
  });
});
