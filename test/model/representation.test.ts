import { describe, expect, it } from 'vitest';
import {
  chooseAmountTransform,
  chooseDayStartHour,
  quantileSkewness,
  transformRows,
} from '../../src/model/features.js';
import { createRandom } from '../../src/model/random.js';
import { parseModel, serializeModel } from '../../src/model/model-file.js';
import { IsolationForestModel } from '../../src/model/model.js';
import { trainModel } from '../../src/model/train.js';
import { generateTransactions } from '../../src/model/synthetic.js';

describe('numeric representation chosen from the training data', () => {
  const rng = createRandom(5);
  const uniform = () => rng.nextFloat();

  it('quantile skewness: 0 for symmetric data, near 1 for a long right tail, 0 for a constant', () => {
    expect(quantileSkewness(Float64Array.from({ length: 101 }, (_, i) => i))).toBeCloseTo(0, 12);
    const tail = Float64Array.from({ length: 1001 }, (_, i) => Math.exp(i / 50)).sort();
    expect(quantileSkewness(tail)).toBeGreaterThan(0.9);
    expect(quantileSkewness(new Float64Array(10).fill(3))).toBe(0);
  });

  it('amount auto: log1p for heavy-tailed (log-normal) amounts, none for uniform ones', () => {
    const heavy = Float64Array.from({ length: 5000 }, () => Math.exp(3.5 + 1.2 * rng.nextNormal()));
    const heavyChoice = chooseAmountTransform(heavy);
    expect(heavyChoice.transform).toBe('log1p');
    expect(heavyChoice.chosen.rule).toBe('quantile-skewness');
    expect(Math.abs(heavyChoice.chosen.log1p)).toBeLessThan(Math.abs(heavyChoice.chosen.none));

    const flat = Float64Array.from({ length: 5000 }, () => 10 + 490 * uniform());
    expect(chooseAmountTransform(flat).transform).toBe('none');
    // A constant has no skew either way: ties keep the raw amount.
    expect(chooseAmountTransform(new Float64Array(100).fill(25)).transform).toBe('none');
  });

  it('amount auto ignores the order of the rows and the top 1% (where anomalies sit)', () => {
    const flat = Float64Array.from({ length: 5000 }, () => 10 + 490 * uniform());
    const spiked = Float64Array.from(flat);
    for (let i = 0; i < 40; i++) spiked[i * 100] = 1e6 * (i + 1); // 0.8% huge amounts
    expect(chooseAmountTransform(spiked).transform).toBe('none');
    const reversed = Float64Array.from(flat).reverse();
    expect(chooseAmountTransform(reversed)).toEqual(chooseAmountTransform(flat));
  });

  it('day-start auto: the hour with the fewest training rows, ties to the earliest', () => {
    const hours: number[] = [];
    for (let h = 0; h < 24; h++) for (let k = 0; k < 10; k++) hours.push(h);
    // 4 and 17 both drop to 3 rows: 4 wins; 22 has 5.
    const drop = (h: number, keep: number) => {
      let seen = 0;
      return (x: number) => x !== h || ++seen <= keep;
    };
    const tied = hours.filter(drop(17, 3)).filter(drop(4, 3)).filter(drop(22, 5));
    const choice = chooseDayStartHour(Float64Array.from(tied));
    expect(choice.hour).toBe(4);
    expect(choice.chosen).toEqual({ rule: 'quietest-hour', rows: 3, of: tied.length });
    // An hour nobody trained at is the quietest; all hours equal: 0.
    expect(chooseDayStartHour(Float64Array.from(hours.filter((h) => h !== 13))).hour).toBe(13);
    expect(chooseDayStartHour(Float64Array.from(hours)).hour).toBe(0);
  });

  it('trainModel records the choices in the model file, and scoring applies them', () => {
    const data = generateTransactions(2000, 0.05, createRandom(3));
    const doc = trainModel(data.raw, data.rows, { amountTransform: 'auto', dayStartHour: 'auto', trees: 20 });
    const amount = doc.features[0];
    const hour = doc.features[1];
    expect(amount.chosen?.rule).toBe('quantile-skewness');
    expect(amount.transform).toBe(chooseAmountTransform(column(data.raw, data.rows, 0)).transform);
    const expectedHour = chooseDayStartHour(column(data.raw, data.rows, 1));
    expect(hour).toEqual({
      name: 'hour',
      kind: 'integer',
      transform: 'hours-since',
      origin: expectedHour.hour,
      chosen: expectedHour.chosen,
    });
    // The same as training with the choices given explicitly, but for the record of how they were made.
    const explicit = trainModel(data.raw, data.rows, {
      amountTransform: amount.transform as 'none' | 'log1p',
      dayStartHour: expectedHour.hour,
      trees: 20,
    });
    expect(explicit.forest).toEqual(doc.forest);
    expect(explicit.features[1].chosen).toBeUndefined();
    // Round trip: the loaded model transforms rows with the recorded choices.
    const loaded = new IsolationForestModel(parseModel(serializeModel(doc)));
    const a = new Float64Array(50);
    const b = new Float64Array(50);
    loaded.scoreRows(data.raw, 50, a);
    new IsolationForestModel(explicit).scoreRows(data.raw, 50, b);
    expect(a).toEqual(b);
    const x = new Float64Array(5);
    transformRows(doc.features, Float64Array.from([10, expectedHour.hour, 0, 0, 0]), x, 1);
    expect(x[1]).toBe(0);
  });

  it('defaults (raw amount, 06:00), fixed hours and none record no choice', () => {
    const data = generateTransactions(1000, 0.05, createRandom(4));
    const defaults = trainModel(data.raw, data.rows, { trees: 5 });
    expect(defaults.features[0]).toEqual({ name: 'amount', kind: 'number', transform: 'none' });
    expect(defaults.features[1]).toEqual({ name: 'hour', kind: 'integer', transform: 'hours-since', origin: 6 });
    const nine = trainModel(data.raw, data.rows, { trees: 5, dayStartHour: 9 }).features[1];
    expect(nine).toEqual({ name: 'hour', kind: 'integer', transform: 'hours-since', origin: 9 });
    expect(trainModel(data.raw, data.rows, { trees: 5, dayStartHour: null }).features[1].transform).toBe('none');
    expect(() => trainModel(data.raw, data.rows, { amountTransform: 'sqrt' as 'none' })).toThrow(/amount transform/);
  });
});

function column(raw: Float64Array, rows: number, j: number): Float64Array {
  return Float64Array.from({ length: rows }, (_, i) => raw[i * 5 + j]);
}
