import { describe, expect, it } from 'vitest';
import { formatFixed, writeFixed, writeInteger } from '../../src/model/number-format.js';
import { createRandom } from '../../src/model/random.js';

const text = (write: (b: Uint8Array, at: number) => number): string => {
  const b = new Uint8Array(64).fill(120); // 'x': a byte written out of place shows
  const end = write(b, 3);
  return Buffer.from(b.subarray(3, end)).toString('latin1') + Buffer.from(b.subarray(end, end + 1)).toString('latin1');
};

describe('writeFixed / writeInteger: the CSV byte path writes what formatFixed / String write', () => {
  it('matches formatFixed for scores, risks, confidences, Shapley values, halves, negatives and huge values', () => {
    const random = createRandom(7);
    const next = () => random.nextFloat();
    const values = [
      0, -0, 0.5, 1, 99.995, 0.0000005, -0.0000004, -0.0000005, 1e-12, 12345.678901, 2147.483648, 3e9, -3e9,
    ];
    for (let i = 0; i < 20_000; i++) values.push(next() * 100, (next() - 0.5) * 2, Math.round(next() * 1e6) / 1e6);
    for (const digits of [2, 4, 6])
      for (const v of values) expect(text((b, at) => writeFixed(b, at, v, digits))).toBe(`${formatFixed(v, digits)}x`);
  });

  it('matches String for line numbers and ids, and falls back to String beyond safe integers', () => {
    for (const n of [0, 1, 9, 10, 99, 100, 1_000_000, 2 ** 31, 2 ** 53 - 1, 2 ** 60, 1.5])
      expect(text((b, at) => writeInteger(b, at, n))).toBe(`${String(n)}x`);
  });
});
