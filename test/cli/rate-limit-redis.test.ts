/**
 * The shared rate limit in the BUILT daemon (bin/secureflow serve) against the real local Redis: it starts,
 * limits, shares one budget between two daemons, and rides out Redis outages (one warning, requests served).
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpProxy } from '../support/tcp-proxy.js';
import { createKeyCli, eventually, freshDb, predict, sleep } from './auth-helpers.js';
import { spawnDaemon, type DaemonProcess } from './daemon-process.js';

const redisUrl = new URL(process.env.SECUREFLOW_TEST_REDIS_URL || 'redis://127.0.0.1:6379');
const reachable = await new Promise<boolean>((resolve) => {
  const s = connect(Number(redisUrl.port || 6379), redisUrl.hostname);
  const done = (up: boolean) => {
    s.destroy();
    resolve(up);
  };
  s.on('connect', () => done(true));
  s.on('error', () => done(false));
  s.setTimeout(2000, () => done(false));
});
if (!reachable && process.env.SECUREFLOW_REQUIRE_REDIS !== '1')
  console.warn(`\n*** SKIPPING the built-daemon Redis rate-limit tests: no Redis at ${redisUrl.host} ***\n`);
const running: DaemonProcess[] = [];
const proxies: TcpProxy[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
  await Promise.all(proxies.splice(0).map((p) => p.cut()));
});

async function daemon(db: string, redis: string, namespace: string, limit = 5): Promise<DaemonProcess> {
  const d = await spawnDaemon(['--db', db], {
    SECUREFLOW_RATE_LIMIT: String(limit),
    REDIS_URL: redis,
    SECUREFLOW_RATE_LIMIT_NAMESPACE: namespace,
  });
  running.push(d);
  return d;
}

const burst = (url: string, n: number, key: string) =>
  Promise.all(Array.from({ length: n }, () => predict(url, { authorization: `Bearer ${key}` })));
const count = (rs: { status: number }[], status: number) => rs.filter((r) => r.status === status).length;
const warnings = (d: DaemonProcess) => d.logs.filter((l) => l.includes('redis unavailable')).length;

describe.skipIf(!reachable && process.env.SECUREFLOW_REQUIRE_REDIS !== '1')(
  'serve with a shared rate limit (SECUREFLOW_RATE_LIMIT + REDIS_URL)',
  () => {
    it('starts, answers 429 past the limit, and two daemons share one budget', async () => {
      const db = freshDb();
      const { key } = createKeyCli(db);
      const ns = `sf-test-${randomUUID()}-`;
      const one = await daemon(db, redisUrl.href, ns, 6);
      const two = await daemon(db, redisUrl.href, ns, 6);
      await eventually(
        async () =>
          one.logs.some((l) => l.includes('redis connected')) && two.logs.some((l) => l.includes('redis connected')),
        5000,
      );
      // Warm each daemon's key cache, then start a fresh one-second window, so the burst fits in one window.
      await burst(one.url, 1, key);
      await burst(two.url, 1, key);
      await sleep(1100);
      const results = (await Promise.all([burst(one.url, 5, key), burst(two.url, 5, key)])).flat();
      expect(count(results, 200)).toBe(6);
      expect(count(results, 429)).toBe(4);
    }, 60_000);

    it('serves through Redis outages with one warning each, and enforces limits again once it is back', async () => {
      const db = freshDb();
      const { key } = createKeyCli(db);
      const proxy = await new TcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379)).start();
      proxies.push(proxy);
      await proxy.cut(); // Redis unreachable at start
      const d = await daemon(db, `redis://127.0.0.1:${proxy.port}`, `sf-test-${randomUUID()}-`, 3);
      await sleep(3000); // several reconnect attempts
      const during = [];
      for (let i = 0; i < 10; i++) during.push(await predict(d.url, { authorization: `Bearer ${key}` }));
      expect(count(during, 200)).toBe(10); // not limited, not refused
      expect(warnings(d)).toBe(1);

      await proxy.restore();
      expect(await eventually(async () => count(await burst(d.url, 6, key), 429) > 0, 10_000, 1100)).toBe(true);

      await proxy.cut(); // Redis lost mid-run
      await sleep(3000);
      const after = [];
      for (let i = 0; i < 10; i++) after.push(await predict(d.url, { authorization: `Bearer ${key}` }));
      expect(count(after, 200)).toBe(10);
      expect(after.every((r) => r.ms < 2000)).toBe(true); // never waits on Redis for long
      expect(warnings(d)).toBe(2);

      await proxy.restore();
      expect(await eventually(async () => count(await burst(d.url, 6, key), 429) > 0, 10_000, 1100)).toBe(true);
      expect(d.proc.exitCode).toBeNull();
    }, 90_000);
  },
);

/** Forwards to Redis until frozen: then holds every byte (a Redis that accepts but never answers). */
async function freezableProxy(target: URL) {
  const { createServer, connect: dial } = await import('node:net');
  let frozen = false;
  const held: (() => void)[] = [];
  const server = createServer((client) => {
    const upstream = dial(Number(target.port || 6379), target.hostname);
    const forward = (from: import('node:net').Socket, to: import('node:net').Socket) =>
      from.on('data', (chunk) => (frozen ? held.push(() => to.write(chunk)) : to.write(chunk)));
    forward(client, upstream);
    forward(upstream, client);
    for (const s of [client, upstream]) s.on('error', () => s.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as { port: number }).port}`,
    freeze: () => (frozen = true),
    thaw: () => {
      frozen = false;
      held.splice(0).forEach((send) => {
        send();
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.skipIf(!reachable && process.env.SECUREFLOW_REQUIRE_REDIS !== '1')(
  'serve with a Redis that stops answering',
  () => {
    it('answers every request within about a second while Redis is frozen, and limits again once it answers', async () => {
      const db = freshDb();
      const { key } = createKeyCli(db);
      const proxy = await freezableProxy(redisUrl);
      try {
        const d = await daemon(db, proxy.url, `sf-test-${randomUUID()}-`, 3);
        expect(await eventually(async () => count(await burst(d.url, 6, key), 429) > 0, 10_000, 1100)).toBe(true);
        proxy.freeze();
        await sleep(1100);
        const during = [];
        for (let i = 0; i < 6; i++) during.push(await predict(d.url, { authorization: `Bearer ${key}` }));
        expect(count(during, 200)).toBe(6);
        expect(Math.max(...during.map((r) => r.ms))).toBeLessThan(2000);
        proxy.thaw();
        expect(await eventually(async () => count(await burst(d.url, 6, key), 429) > 0, 10_000, 1100)).toBe(true);
      } finally {
        await Promise.all(running.splice(0).map((x) => x.stop()));
        await proxy.close();
      }
    }, 60_000);
  },
);
