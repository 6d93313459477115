/**
 * predict-batch and /api/predict write explanations and answers as text, without the objects (explanationText,
 * batchItemText, scoreResultText): the bytes must be JSON.stringify's of the one scored-transaction shape, whatever the row.
 */
import { describe, expect, it } from 'vitest';
import { scoreFeatureRows } from '../../src/core/batch/score-features.js';
import { loadModel } from '../../src/core/model-source.js';
import { compileRules, type RuleDefinition } from '../../src/core/rules/apply-rules.js';
import { applyRulesToBatch } from '../../src/core/rules/batch-rules.js';
import {
  explanationJson,
  explanationOf,
  explanationText,
  baseValueText,
  scoredTransactionAt,
} from '../../src/core/scored-transaction.js';
import { batchItemText, scoreResultText, toBatchItem, toScoreResult } from '../../src/core/scored-views.js';
import { FEATURE_COUNT } from '../../src/model/features.js';

const RULES: RuleDefinition[] = [
  { name: 'big', expression: 'amount > 4000.0', action: 'block', enabled: true },
  { name: 'night', expression: 'hour < 3', action: 'review', enabled: true },
  { name: 'small', expression: 'amount < 50.0 && merchant_category == 4', action: 'allow', enabled: true },
];

/** Rows over the whole range the model sees, odd ones included (zero, huge amounts, codes past the usual). */
function rows(n: number): Float64Array {
  const x = new Float64Array(n * FEATURE_COUNT);
  for (let i = 0; i < n; i++) {
    const o = i * FEATURE_COUNT;
    x[o] = i % 50 === 0 ? 0 : i % 97 === 0 ? 1e9 + i / 3 : ((i * 7.31) % 5000) + (i % 7) / 1000;
    x[o + 1] = i % 24;
    x[o + 2] = i % 7;
    x[o + 3] = i % 13;
    x[o + 4] = i % 5;
  }
  return x;
}

const references = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    i % 4 === 0 ? null : i % 4 === 1 ? `r${i}` : i % 4 === 2 ? `q"uote\\ ${i} \u2028 é \n` : `\ud800lone ${i}`,
  );

describe('explanation and batch item text', () => {
  it('is JSON.stringify of the objects, byte for byte, with and without rules, lines and ids', () => {
    const { model } = loadModel();
    const n = 600;
    for (const withRules of [false, true]) {
      const batch = scoreFeatureRows(model, 0, rows(n), n, references(n), true);
      if (withRules) applyRulesToBatch(compileRules(RULES), batch, model.thresholdRisk, () => null, 0, n);
      const plain = { ...batch, shap: null };
      for (let v = 0; v < n; v++) {
        const full = scoredTransactionAt(model, batch, v);
        const text = explanationText(model, batch.features, batch.shap!, v);
        expect(explanationJson(model, text)).toBe(JSON.stringify(explanationOf(model, batch.features, batch.shap!, v)));
        expect(explanationJson(model, text)).toBe(JSON.stringify(full.explanation));
        const t = scoredTransactionAt(model, plain, v);
        const line = v % 3 === 0 ? undefined : v + 2;
        const id = v % 2 === 0 ? null : 1000 + v;
        full.transaction_id = id;
        t.transaction_id = id;
        expect(batchItemText(t, v, line, text)).toBe(JSON.stringify(toBatchItem(full, v, line)));
        expect(batchItemText(t, v, line, null)).toBe(JSON.stringify(toBatchItem(t, v, line)));
        // /api/predict's answer: the contract's object with the transaction's fields last, as the route sent it.
        const origin = { dataSource: v % 2 ? 'api' : 'a "source"', timestamp: '2026-12-07T06:00:00.000Z' };
        const { transaction, ...rest } = toScoreResult(full, origin);
        expect(scoreResultText(t, text, baseValueText(model), origin)).toBe(
          JSON.stringify({ ...rest, ...transaction }),
        );
      }
    }
  });

  it('writes rule errors as JSON.stringify does', () => {
    const { model } = loadModel();
    const batch = scoreFeatureRows(model, 0, rows(3), 3, references(3), true);
    const t = scoredTransactionAt(model, { ...batch, shap: null }, 1);
    t.rule_errors = [{ rule: 'odd "rule"', error: 'division by zero' }];
    t.matched_rules = [{ name: 'big', action: 'block' }];
    expect(batchItemText(t, 1, 4, null)).toBe(JSON.stringify(toBatchItem(t, 1, 4)));
    const text = explanationText(model, batch.features, batch.shap!, 1);
    const full = { ...t, explanation: explanationOf(model, batch.features, batch.shap!, 1) };
    const origin = { dataSource: 'api', timestamp: 'now' };
    const { transaction, ...rest } = toScoreResult(full, origin);
    expect(scoreResultText(t, text, baseValueText(model), origin)).toBe(JSON.stringify({ ...rest, ...transaction }));
  });
});
