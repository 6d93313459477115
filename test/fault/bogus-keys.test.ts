/**
 * A flood of made-up keys (well-formed sf_<id>_<secret>, some with a real key's id) while a real key keeps
 * calling: the real key's latency stays bounded and the process stays up. Each bogus key used to cost
 * ~150 ms of scrypt on the libuv pool, so a few dozen a second queued real requests for seconds.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bogusKeyFlood } from './support/attacks.js';
import { alive, createKey, sleep, spawnDaemon, type Daemon } from './support/daemon.js';
import { loopLagMs, startLoad, startProbe } from './support/load.js';

let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop('SIGKILL');
  daemon = undefined;
});

describe('fault: bogus-key flood', () => {
  it('keeps a real key answered quickly while made-up keys pour in', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'secureflow-fault-')), 'keys.db');
    const key = createKey(db);
    const realId = Number(/^sf_(\d+)_/.exec(key)![1]);
    daemon = await spawnDaemon(['--db', db]);
    // The real key's first request arrives once the flood is under way (its check is not cached yet: that is
    // the request that used to wait 8-9 s), from the same address, as behind a proxy.
    await loopLagMs(daemon.url, key); // resets the max
    const flood = bogusKeyFlood(daemon.url, realId, 200);
    await sleep(1000);
    const real = startLoad(daemon.url, { key, concurrency: 1, pauseMs: 100, timeoutMs: 60_000 });
    const probe = startProbe(daemon.url);
    await sleep(8000);
    const result = await real.stop(2000);
    await flood.stop();
    await probe.stop();

    const lag = await loopLagMs(daemon.url, key);
    console.log(
      `[fault d] ${JSON.stringify({ eventloop_lag_max_ms: lag, flood_sent: flood.sent, flood: flood.statuses, real: result.statuses, real_p99_ms: Math.round(result.p99All()), health_max_ms: Math.round(probe.max()) })}`,
    );
    expect(alive(daemon), daemon.stderr()).toBe(true);
    expect(result.unexpected5xx()).toEqual({});
    expect(result.count(200), 'the real key was served throughout').toBeGreaterThan(20);
    expect(result.count('error'), 'no real request left waiting').toBe(0);
    // Generous: 2 slow shared cores. Before the fix the real key waited 8-9 s.
    // 429s are allowed (a per-address failure limit may catch the real key's first, uncached request while
    // the flood comes from its address); waiting is not: p99 over every answer, 200 or 429.
    expect(result.p99All(), 'real key p99 (ms) under the flood').toBeLessThan(1000);
    expect((flood.statuses['401'] ?? 0) + (flood.statuses['429'] ?? 0), 'made-up keys are refused').toBeGreaterThan(
      100,
    );
    expect(
      Object.keys(flood.statuses).filter((s) => s !== '401' && s !== '429'),
      'made-up keys get 401 (or 429), nothing else',
    ).toEqual([]);
  });
});
