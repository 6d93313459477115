import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { tx } from './auth-helpers.js';

/** One POST /api/predict over node:http (which, unlike fetch, can choose its source address and Host). */
export function rawPredict(
  url: string,
  opts: { key?: string; agent?: Agent; host?: string } = {},
): Promise<{ status: number; ms: number; body: string }> {
  const u = new URL(url);
  const body = JSON.stringify(tx);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
  };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.host) headers.host = opts.host;
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      { hostname: u.hostname, port: u.port, path: '/api/predict', method: 'POST', headers, agent: opts.agent },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A well-formed key with a made-up secret: for `id`, a real id (wrong secret) or an unknown one. */
export const madeUpKey = (id: number) => `sf_${id}_${randomBytes(32).toString('base64url')}`;

/** The daemon's event-loop lag (prom-client's monitor; each scrape resets it): max and p99 since the last scrape, in ms. */
export async function eventLoopLag(url: string): Promise<{ max: number; p99: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000;
  return { max: value('nodejs_eventloop_lag_max_seconds'), p99: value('nodejs_eventloop_lag_p99_seconds') };
}

export const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/**
 * Floods `url` with made-up keys from 127.0.0.2 (up to `workers` requests in flight, `rate` requests/s in all:
 * five times the 30-40/s that starved real keys before) for `ms`, while real keys (each new to the daemon when
 * first used, as after a restart or cache expiry) send one request every 50 ms from 127.0.0.1 in turn.
 * Returns the real keys' latencies, the flood's answers by status, and `sameAddressKey`'s statuses.
 */
export async function floodWhileUsing(
  url: string,
  realKeys: string[],
  ids: number[],
  ms: number,
  opts: { rate?: number; workers?: number; sameAddressKey?: string } = {},
) {
  const { rate = 200, workers = 40 } = opts;
  const agent = new Agent({ keepAlive: true, maxSockets: workers, localAddress: '127.0.0.2' });
  const until = Date.now() + ms;
  const statuses = new Map<number, number>();
  const flood = Array.from({ length: workers }, async (_, w) => {
    for (let i = 0; Date.now() < until; i++) {
      const r = await rawPredict(url, { key: madeUpKey(ids[(w + i) % ids.length]), agent }).catch(() => ({
        status: 0,
        ms: 0,
      }));
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      await new Promise((done) => setTimeout(done, Math.max(0, (workers * 1000) / rate - r.ms)));
    }
  });
  const real: { status: number; ms: number }[] = [];
  const user = (async () => {
    await new Promise((r) => setTimeout(r, 300)); // the flood is under way
    while (Date.now() < until) {
      real.push(await rawPredict(url, { key: realKeys[real.length % realKeys.length] }));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  // A key in use from the flood's own address (as behind a proxy), every 200 ms: it must stay accepted.
  const neighbour: number[] = [];
  const sameAddress = (async () => {
    if (!opts.sameAddressKey) return;
    const own = new Agent({ keepAlive: true, localAddress: '127.0.0.2' });
    while (Date.now() < until) {
      neighbour.push((await rawPredict(url, { key: opts.sameAddressKey, agent: own })).status);
      await new Promise((r) => setTimeout(r, 200));
    }
    own.destroy();
  })();
  await Promise.all([...flood, user, sameAddress]);
  agent.destroy();
  const times = real.map((r) => r.ms);
  return {
    real,
    neighbour,
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    max: Math.max(...times),
    flood: Object.fromEntries(statuses),
  };
}
