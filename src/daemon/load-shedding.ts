import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import { SecureflowError } from '../core/errors.js';
import type { ServeOptions } from './options.js';

/**
 * While the event loop lags (its mean delay over the last half second above the threshold), new API requests
 * get 503 + Retry-After at once instead of queueing behind the work that is already late. Routes without a
 * permission (health, readiness, metrics) are exempt, so probes and monitoring still see the process.
 */
export async function loadShedding(app: FastifyInstance, options: ServeOptions): Promise<void> {
  if (options.maxEventLoopDelayMs <= 0) return;
  await app.register(underPressure, {
    maxEventLoopDelay: options.maxEventLoopDelayMs,
    sampleInterval: 500,
    pressureHandler: async (request, _reply, _type, value) => {
      if (!request.routeOptions.config.permission) return;
      const lag = typeof value === 'number' ? Math.round(value) : 0;
      throw new SecureflowError(
        'unavailable',
        `overloaded (event loop ${lag} ms behind): retry shortly`,
        { retry_after_seconds: 1 },
        { headers: { 'retry-after': '1' } },
      );
    },
  });
}
