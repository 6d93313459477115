/**
 * Failed authentications per client address in fixed windows. Kept in memory on purpose: it must answer before
 * any lookup (and without Redis), and only has to hold back one instance's work.
 */
export class FailureLimiter {
  private readonly windows = new Map<string, { start: number; failures: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until `ip` may try again; 0 when it may now. */
  blockedFor(ip: string): number {
    const w = this.windows.get(ip);
    if (!w) return 0;
    const left = w.start + this.windowMs - this.now();
    if (left <= 0) {
      this.windows.delete(ip);
      return 0;
    }
    return w.failures >= this.max ? left : 0;
  }

  record(ip: string): void {
    const t = this.now();
    const w = this.windows.get(ip);
    if (w && w.start + this.windowMs > t) w.failures++;
    else {
      // Bounded: a flood from many addresses forgets the oldest windows rather than growing without end.
      if (this.windows.size >= 50_000) this.windows.delete(this.windows.keys().next().value!);
      this.windows.set(ip, { start: t, failures: 1 });
    }
  }
}

/** At most `limit` holders; at most `maxWaiting` queued (acquire resolves null beyond that, to refuse the work). */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly limit: number,
    private readonly maxWaiting: number,
  ) {}

  async acquire(): Promise<(() => void) | null> {
    if (this.active >= this.limit) {
      if (this.waiting.length >= this.maxWaiting) return null;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next)
        next(); // the slot passes straight to the next waiter
      else this.active--;
    };
  }
}
