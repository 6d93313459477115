/**
 * The lag that load shedding reads: one synchronous stretch longer than the sampling window (a large batch's
 * store) once read as an infinite delay, and every API request was answered 503 for the next half second.
 */
import { describe, expect, it } from 'vitest';
import { EventLoopLag } from '../../src/daemon/load-shedding.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('EventLoopLag', () => {
  it('measures a stretch longer than its window as the time it took, not as infinite', async () => {
    const lag = new EventLoopLag();
    try {
      await sleep(50);
      lag.sample(); // a fresh window
      const end = performance.now() + 700;
      while (performance.now() < end); // blocks the loop past the 500 ms window: no timer sample in it
      lag.sample();
      expect(Number.isFinite(lag.value)).toBe(true);
      expect(lag.value).toBeGreaterThan(100);
      expect(lag.value).toBeLessThan(1000); // under the daemon's default threshold: nothing is shed
      await sleep(600); // an idle window after it
      expect(lag.value).toBeLessThan(100);
    } finally {
      lag.stop();
    }
  });
});
