import { randomBytes } from 'node:crypto';
import { Pool } from 'undici';

export const tx = { amount: 42.5, hour: 13, day_of_week: 2, merchant_category: 3, transaction_type: 1 };

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export interface LoadResult {
  /** Answers by status code; 'error' for a request that got no answer (socket reset, timeout). */
  statuses: Record<string, number>;
  latenciesMs: number[];
  /** Latency of every answered request, whatever its status. */
  allLatenciesMs: number[];
  /** reference -> transaction_id of every write the daemon acknowledged with 200. */
  acked: Map<string, number>;
  /** Answers per wall-clock second, by status. */
  perSecond: Map<number, Record<string, number>>;
  p99(): number;
  /** p99 over every answered request (a fast 429 or 503 counts as answered). */
  p99All(): number;
  count(status: string | number): number;
  /** Statuses >= 500 other than the ones allowed. */
  unexpected5xx(allowed?: number[]): Record<string, number>;
}

export interface Load {
  result: LoadResult;
  /** Stops sending; resolves once every request in flight has settled, or after `graceMs` (those count as 'error'). */
  stop(graceMs?: number): Promise<LoadResult>;
}

/**
 * A small closed-loop load generator: `concurrency` workers each POST /api/predict with a unique reference
 * back to back (`pauseMs` apart), so that acknowledged writes can be matched against stored rows.
 */
export function startLoad(
  base: string,
  opts: { key?: string; concurrency?: number; pauseMs?: number; tag?: string; timeoutMs?: number } = {},
): Load {
  const concurrency = opts.concurrency ?? 8;
  const pool = new Pool(base, {
    connections: concurrency,
    headersTimeout: opts.timeoutMs ?? 30_000,
    bodyTimeout: opts.timeoutMs ?? 30_000,
  });
  const tag = opts.tag ?? randomBytes(4).toString('hex');
  const result: LoadResult = {
    statuses: {},
    latenciesMs: [],
    allLatenciesMs: [],
    acked: new Map(),
    perSecond: new Map(),
    p99() {
      return percentile(this.latenciesMs, 99);
    },
    p99All() {
      return percentile(this.allLatenciesMs, 99);
    },
    count(status) {
      return this.statuses[String(status)] ?? 0;
    },
    unexpected5xx(allowed = []) {
      return Object.fromEntries(
        Object.entries(this.statuses).filter(([s]) => /^5/.test(s) && !allowed.includes(Number(s))),
      );
    },
  };
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  let running = true;
  let n = 0;
  const note = (status: string, ms: number) => {
    result.statuses[status] = (result.statuses[status] ?? 0) + 1;
    if (status === '200') result.latenciesMs.push(ms);
    if (status !== 'error') result.allLatenciesMs.push(ms);
    const second = Math.floor(Date.now() / 1000);
    const bucket = result.perSecond.get(second) ?? {};
    bucket[status] = (bucket[status] ?? 0) + 1;
    result.perSecond.set(second, bucket);
  };
  const worker = async () => {
    while (running) {
      const reference = `${tag}-${n++}`;
      const start = performance.now();
      try {
        const res = await pool.request({
          path: '/api/predict',
          method: 'POST',
          headers,
          body: JSON.stringify({ ...tx, reference }),
        });
        const text = await res.body.text();
        note(String(res.statusCode), performance.now() - start);
        if (res.statusCode === 200) result.acked.set(reference, JSON.parse(text).transaction_id);
      } catch {
        note('error', performance.now() - start);
        await new Promise((r) => setTimeout(r, 50)); // a refused connection fails at once: do not spin
      }
      if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    result,
    async stop(graceMs = 30_000) {
      running = false;
      let timer: NodeJS.Timeout | undefined;
      const settled = await Promise.race([
        Promise.all(workers).then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs))),
      ]);
      clearTimeout(timer);
      if (settled) await pool.close().catch(() => {});
      else {
        await pool.destroy().catch(() => {});
        await Promise.all(workers);
      }
      return result;
    },
  };
}

export interface Probe {
  latenciesMs: number[];
  statuses: Record<string, number>;
  /** The last answer's JSON body. */
  last: any;
  max(): number;
  stop(): Promise<void>;
}

/** Calls GET `path` every `everyMs` on its own connection, as a platform's health check would. */
export function startProbe(base: string, path = '/api/health', everyMs = 250): Probe {
  const pool = new Pool(base, { connections: 1, headersTimeout: 60_000 });
  const probe: Probe = {
    latenciesMs: [],
    statuses: {},
    last: null,
    max() {
      return Math.max(0, ...this.latenciesMs);
    },
    async stop() {
      running = false;
      await loop;
      await pool.close().catch(() => {});
    },
  };
  let running = true;
  const loop = (async () => {
    while (running) {
      const start = performance.now();
      let status = 'error';
      try {
        const res = await pool.request({ path, method: 'GET' });
        const text = await res.body.text();
        status = String(res.statusCode);
        try {
          probe.last = JSON.parse(text);
        } catch {
          probe.last = text;
        }
      } catch {
        /* counted as error */
      }
      probe.latenciesMs.push(performance.now() - start);
      probe.statuses[status] = (probe.statuses[status] ?? 0) + 1;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return probe;
}

/** One request on a fresh connection: status and JSON body. */
export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** The daemon's own event-loop lag, max since the last call (prom-client resets it on each scrape); null if unreadable. */
export async function loopLagMs(base: string, key?: string): Promise<number | null> {
  try {
    const res = await fetch(`${base}/metrics`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    const m = /^nodejs_eventloop_lag_max_seconds (\S+)/m.exec(await res.text());
    return m ? Math.round(Number(m[1]) * 1000) : null;
  } catch {
    return null;
  }
}
