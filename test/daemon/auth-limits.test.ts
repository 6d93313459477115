import { describe, expect, it } from 'vitest';
import { FailureLimiter, Semaphore } from '../../src/daemon/auth-limits.js';

describe('FailureLimiter', () => {
  it('holds an address back after N failures until its window ends, and no other address', () => {
    let t = 0;
    const limiter = new FailureLimiter(3, 1000, () => t);
    for (let i = 0; i < 3; i++) {
      expect(limiter.blockedFor('a')).toBe(0);
      limiter.record('a');
    }
    t = 400;
    expect(limiter.blockedFor('a')).toBe(600);
    expect(limiter.blockedFor('b')).toBe(0);
    t = 1000;
    expect(limiter.blockedFor('a')).toBe(0);
  });
});

describe('Semaphore', () => {
  it('lets `limit` in at once, queues up to `maxWaiting`, and refuses beyond', async () => {
    const s = new Semaphore(2, 1);
    const a = await s.acquire();
    const b = await s.acquire();
    let third: (() => void) | null = null;
    const waiting = s.acquire().then((r) => (third = r));
    expect(await s.acquire()).toBeNull(); // the queue is full
    await Promise.resolve();
    expect(third).toBeNull();
    a!();
    a!(); // releasing twice frees one slot only
    await waiting;
    expect(third).not.toBeNull();
    b!();
    third!();
    expect(await s.acquire()).not.toBeNull();
  });
});
