import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SecureflowError } from '../../src/core/errors.js';
import {
  allowedRows,
  expectedAlertRate,
  figuresAt,
  thresholdForAlertRate,
  thresholdForPrecision,
  wilson,
  withCalibratedThreshold,
} from '../../src/model/calibrate.js';
import { parseModel, serializeModel } from '../../src/model/model-file.js';
import { createRandom } from '../../src/model/random.js';

describe('wilson', () => {
  it('matches published values', () => {
    // 20 of 100 at 95%: [0.1334, 0.2888].
    const e = wilson(20, 100);
    expect(e.value).toBe(0.2);
    expect(e.low).toBeCloseTo(0.1334, 4);
    expect(e.high).toBeCloseTo(0.2888, 4);
    // 0 of 10: [0, 0.2775]; 10 of 10: [0.7225, 1].
    expect(wilson(0, 10).low).toBe(0);
    expect(wilson(0, 10).high).toBeCloseTo(0.2775, 4);
    expect(wilson(10, 10).low).toBeCloseTo(0.7225, 4);
    expect(wilson(10, 10).high).toBe(1);
  });

  it('knows nothing from no trials', () => {
    const e = wilson(0, 0);
    expect([e.low, e.high, Number.isNaN(e.value)]).toEqual([0, 1, true]);
  });
});

describe('allowedRows', () => {
  it('is exact where rate * rows is not', () => {
    expect(allowedRows(100, 0.29)).toBe(29); // 0.29 * 100 = 28.999999999999996
    expect(allowedRows(100, 0.07)).toBe(7); // 0.07 * 100 = 7.000000000000001
    expect(allowedRows(1100, 0.02)).toBe(22);
    expect(allowedRows(30, 0.02)).toBe(0);
    expect(allowedRows(10, 1)).toBe(10);
  });
});

describe('thresholdForAlertRate', () => {
  const scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.35, 0.45, 0.55];

  it('flags exactly the allowed rows when no tie straddles the limit', () => {
    const c = thresholdForAlertRate(scores, 0.3);
    expect(c).toEqual({ threshold: 0.7, allowed: 3, flagged: 3, note: null });
    expect(figuresAt(scores, null, c.threshold).flagged.successes).toBe(3);
  });

  it('moves up past a tie rather than exceed the rate', () => {
    const tied = [0.9, 0.8, 0.7, 0.7, 0.7, 0.5, 0.4, 0.3, 0.2, 0.1];
    const c = thresholdForAlertRate(tied, 0.3);
    expect(c.threshold).toBe(0.8);
    expect(c.flagged).toBe(2);
    expect(c.note).toMatch(/3 rows tie at score 0.7/);
    expect(figuresAt(tied, null, c.threshold).flagged.value).toBeLessThanOrEqual(0.3);
  });

  it('never exceeds the rate on random scores with ties', () => {
    const random = createRandom(7);
    const next = () => random.nextFloat();
    for (let trial = 0; trial < 50; trial++) {
      const n = 50 + Math.floor(next() * 500);
      const s = Array.from({ length: n }, () => Math.round(next() * 40) / 40 + 0.01);
      const rate = 0.02 + next() * 0.2;
      try {
        const c = thresholdForAlertRate(s, rate);
        const f = figuresAt(s, null, c.threshold).flagged;
        expect(f.successes).toBe(c.flagged);
        expect(f.value).toBeLessThanOrEqual(rate);
      } catch (e) {
        expect(e).toBeInstanceOf(SecureflowError);
      }
    }
  });

  it('refuses a rate that allows no row, or a top tie over the limit', () => {
    expect(() => thresholdForAlertRate(scores, 0.05)).toThrow(/allows no flagged row out of 10/);
    expect(() => thresholdForAlertRate([0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], 0.2)).toThrow(
      /3 highest-scoring rows all score 0.9/,
    );
  });
});

describe('thresholdForPrecision', () => {
  // Descending: 0.9 A, 0.8 A, 0.7 N, 0.6 A, 0.5 N, 0.4 N, 0.3 A, 0.2 N
  const scores = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
  const labels = [0, 1, 0, 0, 1, 0, 1, 1];

  it('picks the lowest threshold that reaches the precision (the most recall)', () => {
    // precision by threshold: 0.9 1, 0.8 1, 0.7 2/3, 0.6 3/4, 0.5 3/5, 0.4 1/2, 0.3 4/7, 0.2 1/2
    expect(thresholdForPrecision(scores, labels, 0.75).threshold).toBe(0.6);
    expect(thresholdForPrecision(scores, labels, 0.55).threshold).toBe(0.3);
    expect(thresholdForPrecision(scores, labels, 1).threshold).toBe(0.8);
    const f = figuresAt(scores, labels, 0.6);
    expect([f.precision?.successes, f.precision?.n, f.recall?.successes, f.recall?.n]).toEqual([3, 4, 3, 4]);
  });

  it('says when no threshold reaches it, or there are no anomalies', () => {
    expect(() => thresholdForPrecision([0.9, 0.1], [0, 1], 0.9)).toThrow(/best is 50%/);
    expect(() => thresholdForPrecision([0.9, 0.1], [0, 0], 0.9)).toThrow(/no row as an anomaly/);
  });
});

describe('withCalibratedThreshold', () => {
  it('keeps the trees, changes the threshold and version, records where it came from, and reloads', () => {
    const doc = parseModel(readFileSync(new URL('../../src/model/default-model.json', import.meta.url), 'utf8'));
    const provenance = {
      method: 'alert-rate' as const,
      source: 'files' as const,
      target: 0.02,
      rows: 1100,
      flagged: 22,
      positives: null,
      labelColumn: null,
      files: [{ name: 'traffic.csv', sha256: 'ab'.repeat(32) }],
    };
    const cal = withCalibratedThreshold(doc, 0.61, provenance);
    expect(cal.id).not.toBe(doc.id);
    expect(cal.threshold).toBe(0.61);
    expect(cal.forest).toEqual(doc.forest);
    expect(cal.training).toEqual(doc.training);
    expect(cal.calibration).toEqual({ ...provenance, fromVersion: doc.id, fromThreshold: doc.threshold });
    const text = serializeModel(cal);
    expect(parseModel(text).id).toBe(cal.id);
    expect(serializeModel(withCalibratedThreshold(doc, 0.61, provenance))).toBe(text);
    // Calibrating a calibrated model replaces the record, pointing at the model it started from.
    const again = withCalibratedThreshold(parseModel(text), 0.6, provenance);
    expect(again.calibration?.fromVersion).toBe(cal.id);
    expect(Object.keys(again)).toEqual(Object.keys(cal));
  });
});

describe('expectedAlertRate', () => {
  const doc = parseModel(readFileSync(new URL('../../src/model/default-model.json', import.meta.url), 'utf8'));

  it('of a trained model is the share of its training rows at or above the threshold (its contamination)', () => {
    const r = expectedAlertRate(doc);
    expect(r.basis).toBe('training');
    expect(r.rows).toBe(50_000);
    expect(r.share).toBeCloseTo(0.06, 3);
    expect(r.low).toBeLessThan(r.share);
    expect(r.high).toBeGreaterThan(r.share);
  });

  it('of a calibrated model is the share of its calibration traffic it flagged, unless overridden', () => {
    const cal = withCalibratedThreshold(doc, 0.65, {
      method: 'alert-rate',
      source: 'files',
      target: 0.02,
      rows: 1100,
      flagged: 22,
      positives: null,
      labelColumn: null,
      files: [],
    });
    expect(expectedAlertRate(cal)).toMatchObject({ basis: 'calibration', share: 0.02, rows: 1100 });
    expect(expectedAlertRate(cal).low).toBeCloseTo(0.0132, 4);
    expect(expectedAlertRate(cal, 0.5).basis).toBe('training');
    // Verdicts are not a sample of traffic: a model calibrated on them keeps the training-rows estimate.
    const fromVerdicts = withCalibratedThreshold(doc, 0.65, { ...cal.calibration!, source: 'feedback' });
    expect(expectedAlertRate(fromVerdicts).basis).toBe('training');
  });
});
