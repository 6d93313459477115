import { describe, expect, it } from 'vitest';
import { createRandom } from './helpers.js';

describe('seeded random generator', () => {
  it('repeats its sequence for a seed and differs between seeds', () => {
    const a = createRandom(42);
    const b = createRandom(42);
    const c = createRandom(43);
    const sa = Array.from({ length: 20 }, () => a.nextUint32());
    expect(Array.from({ length: 20 }, () => b.nextUint32())).toEqual(sa);
    expect(Array.from({ length: 20 }, () => c.nextUint32())).not.toEqual(sa);
  });

  it('draws floats in [0, 1) and integers in [0, n) roughly uniformly', () => {
    const r = createRandom(1);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const f = r.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
      counts[r.nextInt(10)]++;
    }
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });

  it('refuses seeds that are not 32-bit unsigned integers', () => {
    expect(() => createRandom(-1)).toThrow(/seed/);
    expect(() => createRandom(1.5)).toThrow(/seed/);
  });
});
