import type { FastifyInstance } from 'fastify';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SecureflowError } from '../core/errors.js';
import type { ServeOptions } from './options.js';

/** How often the lag is read, and the histogram's timer resolution (ms). */
const SAMPLE_MS = 500;
const RESOLUTION_MS = 10;

/**
 * The event loop's lag: the mean delay of a 10 ms timer over the last half second, as @fastify/under-pressure
 * measured it, but for one case. A window in which that timer never ran (one synchronous stretch longer than
 * the window, such as a large batch's store) has no samples: the plugin read their mean, NaN, as an infinite delay
 * and shed every request for the next half second however short the stretch had been. Such a window is measured
 * here by how late the sampling timer itself ran.
 */
export class EventLoopLag {
  /** Milliseconds. */
  value = 0;
  private readonly histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private readonly timer: NodeJS.Timeout;
  private last = performance.now();

  constructor() {
    this.histogram.enable();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  sample(now = performance.now()): void {
    const late = Math.max(0, now - this.last - SAMPLE_MS);
    this.last = now;
    const h = this.histogram;
    this.value = h.count > 0 ? Math.max(0, h.mean / 1e6 - RESOLUTION_MS) : late;
    h.reset();
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}

/**
 * While the event loop lags (its mean delay over the last half second above the threshold), new API requests
 * get 503 + Retry-After at once instead of queueing behind the work that is already late. Routes without a
 * permission (health, readiness, metrics) are exempt, so probes and monitoring still see the process.
 */
export async function loadShedding(app: FastifyInstance, options: ServeOptions): Promise<void> {
  if (options.maxEventLoopDelayMs <= 0) return;
  const lag = new EventLoopLag();
  app.addHook('onClose', async () => lag.stop());
  app.addHook('onRequest', (request, _reply, done) => {
    if (lag.value <= options.maxEventLoopDelayMs || !request.routeOptions.config.permission) return done();
    done(
      new SecureflowError(
        'unavailable',
        `overloaded (event loop ${Math.round(lag.value)} ms behind): retry shortly`,
        { retry_after_seconds: 1 },
        { headers: { 'retry-after': '1' } },
      ),
    );
  });
}
