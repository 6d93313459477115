import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { redactUrl } from '../db/shared.js';

/**
 * A Redis client for the shared rate-limit counters. Commands never wait for a connection (no offline queue) nor
 * long for an answer (500 ms, for a Redis that accepts but never answers): while Redis is away the rate limit
 * skips (skipOnError) and requests are served. One warning when it goes away and one line when it is back,
 * however long the outage, rather than one per retry.
 */
export async function connectRedis(url: string, log: FastifyBaseLogger): Promise<Redis> {
  // ioredis is CommonJS: bundled by esbuild, a dynamic import yields the class on `default` only.
  const mod = await import('ioredis');
  const RedisClass = mod.Redis ?? mod.default;
  const redis = new RedisClass(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    commandTimeout: 500,
  });
  let up: boolean | null = null; // null: not yet known
  redis.on('ready', () => {
    if (up !== true) log.info({ redis: redactUrl(url) }, 'redis connected: rate limits are shared');
    up = true;
  });
  redis.on('error', (e: Error) => {
    if (up === false) return;
    up = false;
    log.warn(
      { redis: redactUrl(url), reason: e.message },
      'redis unavailable: rate limits are not enforced until it returns',
    );
  });
  return redis;
}
