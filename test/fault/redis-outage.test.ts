/**
 * Redis (the shared rate limit's counters) goes down and comes back under load: the daemon keeps serving
 * during the outage, enforces the limit again afterwards, and logs the outage once, not once per request.
 * A private redis-server: the shared one on 6379 serves other tests.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { privateRedis, type PrivateRedis } from './support/backends.js';
import { alive, createKey, sleep, spawnDaemon, type Daemon } from './support/daemon.js';
import { describeWithRedisServer } from './support/guard.js';
import { startLoad } from './support/load.js';

const LIMIT = 20;
let daemon: Daemon | undefined;
let redis: PrivateRedis | undefined;
afterEach(async () => {
  await daemon?.stop('SIGKILL');
  await redis?.kill();
  daemon = redis = undefined;
});

/** Load for `ms` with one key; the answers. */
async function burst(url: string, key: string, ms: number) {
  const load = startLoad(url, { key, concurrency: 4 });
  await sleep(ms);
  return load.stop();
}

describeWithRedisServer('fault: Redis down and back under a shared rate limit', () => {
  it('serves during the outage, limits again after, and warns once', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'secureflow-fault-')), 'redis.db');
    const key = createKey(db);
    redis = await privateRedis();
    daemon = await spawnDaemon(['--db', db, '--rate-limit', String(LIMIT), '--redis-url', redis.url]);

    const before = await burst(daemon.url, key, 2000);
    expect(before.count(429), 'the limit holds while Redis is up').toBeGreaterThan(0);
    expect(before.count(200)).toBeLessThanOrEqual(LIMIT * 4); // 2 s of 1 s windows, partial windows at each end

    await redis.kill();
    await sleep(500);
    const during = await burst(daemon.url, key, 3000);
    expect(alive(daemon), daemon.stderr()).toBe(true);
    expect(during.unexpected5xx(), 'a Redis outage is no reason for 5xx').toEqual({});
    expect(during.count(200), 'served during the outage').toBeGreaterThan(LIMIT);

    await redis.start();
    // ioredis reconnects with back-off: give it a generous while to count again.
    let after = await burst(daemon.url, key, 2000);
    for (let i = 0; i < 8 && after.count(429) === 0; i++) after = await burst(daemon.url, key, 2000);
    expect(after.count(429), 'the limit holds again once Redis is back').toBeGreaterThan(0);
    expect(after.unexpected5xx()).toEqual({});

    const warnings = daemon.logs.filter((l) => /redis/i.test(l) && /"level":40/.test(l));
    expect(warnings.length, `warnings about Redis:\n${warnings.slice(0, 5).join('\n')}`).toBeGreaterThan(0);
    expect(warnings.length, 'one warning per outage, not one per request or retry').toBeLessThanOrEqual(3);
    console.log(
      `[fault c] ${JSON.stringify({ before: before.statuses, during: during.statuses, after: after.statuses, warnings: warnings.length })}`,
    );
  });
});
