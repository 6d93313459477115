import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { Pool } from 'undici';

/** A key that looks real: sf_<id>_<43 base64url chars>. Ids near `realId` so the lookup finds a row. */
export function bogusKey(realId: number): string {
  const id = Math.random() < 0.5 ? realId : 1 + Math.floor(Math.random() * 1000);
  return `sf_${id}_${randomBytes(32).toString('base64url')}`;
}

export interface Flood {
  sent: number;
  statuses: Record<string, number>;
  stop(): Promise<void>;
}

/** Open-loop flood of made-up keys: `perSecond` requests a second, at most `maxInFlight` waiting. */
export function bogusKeyFlood(base: string, realId: number, perSecond = 200, maxInFlight = 256): Flood {
  const pool = new Pool(base, { connections: 64, headersTimeout: 60_000 });
  const flood: Flood = {
    sent: 0,
    statuses: {},
    async stop() {
      stopped = true;
      clearInterval(timer);
      await pool.destroy().catch(() => {}); // what is still queued has made its point
    },
  };
  const inflight = new Set<Promise<void>>();
  let stopped = false;
  const body = JSON.stringify({ amount: 1, hour: 1, day_of_week: 1, merchant_category: 1, transaction_type: 0 });
  const tickMs = 20;
  const timer = setInterval(() => {
    for (let i = 0; i < (perSecond * tickMs) / 1000 && inflight.size < maxInFlight; i++) {
      flood.sent++;
      const p = pool
        .request({
          path: '/api/predict',
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${bogusKey(realId)}` },
          body,
        })
        .then(async (res) => {
          await res.body.dump();
          flood.statuses[res.statusCode] = (flood.statuses[res.statusCode] ?? 0) + 1;
        })
        .catch(() => {
          if (stopped) return; // destroyed by stop(), not refused by the daemon
          flood.statuses.error = (flood.statuses.error ?? 0) + 1;
        })
        .finally(() => inflight.delete(p));
      inflight.add(p);
    }
  }, tickMs);
  return flood;
}

export interface SlowBodies {
  sockets: Socket[];
  /** How many the server has closed so far. */
  closed(): number;
  stop(): void;
}

/** Slowloris: `count` connections each announcing a body and sending it one byte a second. */
export function slowBodies(base: string, count: number, path = '/api/predict'): SlowBodies {
  const { hostname, port } = new URL(base);
  const sockets: Socket[] = [];
  let closed = 0;
  const body = JSON.stringify({ amount: 1, hour: 1, day_of_week: 1, merchant_category: 1, transaction_type: 0 }).padEnd(
    4000,
    ' ',
  );
  for (let i = 0; i < count; i++) {
    const s = connect(Number(port), hostname);
    s.on('error', () => {});
    s.on('close', () => closed++);
    s.on('data', () => {}); // a 408/400 answer, if any
    s.on('connect', () =>
      s.write(
        `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      ),
    );
    sockets.push(s);
  }
  let sentBytes = 0;
  const timer = setInterval(() => {
    for (const s of sockets) if (!s.destroyed && s.writable) s.write(body[sentBytes] ?? ' ');
    sentBytes++;
  }, 1000);
  return {
    sockets,
    closed: () => closed,
    stop() {
      clearInterval(timer);
      for (const s of sockets) s.destroy();
    },
  };
}
