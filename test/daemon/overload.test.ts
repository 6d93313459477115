/**
 * Overload against the built daemon: slow bodies time out (408) instead of holding sockets, SIGTERM with slow
 * bodies open exits 0 in time, a CSV body past the batch limit is refused while it arrives, big batches leave
 * health answering, and a lagging event loop sheds API requests (503 + Retry-After) but not health.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { spawnDaemon, type DaemonProcess } from '../cli/daemon-process.js';
import { tempDb } from './server-helpers.js';

const HEADER = 'amount,hour,day_of_week,merchant_category\n';
const csvRows = (n: number) =>
  HEADER + Array.from({ length: n }, (_, i) => `${(i % 500) + 0.5},${i % 24},${i % 7},${i % 10}\n`).join('');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sockets that send a request's headers, then one body byte a second (slowloris). */
function slowBodies(url: string, n: number): { sockets: net.Socket[]; statuses: string[]; stop(): void } {
  const port = Number(new URL(url).port);
  const statuses: string[] = [];
  const sockets = Array.from({ length: n }, () => {
    const s = net.connect(port, '127.0.0.1', () =>
      s.write(
        'POST /api/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{',
      ),
    );
    const t = setInterval(() => s.writable && s.write('1'), 1000);
    s.on('data', (d) => statuses.push(/^HTTP\/1\.1 (\d+)/.exec(d.toString())?.[1] ?? 'data'));
    s.on('close', () => clearInterval(t));
    s.on('error', () => {});
    return s;
  });
  return {
    sockets,
    statuses,
    stop: () =>
      sockets.forEach((s) => {
        s.destroy();
      }),
  };
}

async function timedHealth(url: string): Promise<number> {
  const t = performance.now();
  const r = await fetch(`${url}/api/health`);
  expect(r.status).toBe(200);
  return performance.now() - t;
}

describe('slow clients', () => {
  it('answers 408 and closes sockets whose body trickles in past --request-timeout', async () => {
    const daemon = await spawnDaemon(['--db', tempDb(), '--request-timeout', '2000']);
    const slow = slowBodies(daemon.url, 40);
    try {
      await sleep(500);
      expect(slow.sockets.filter((s) => !s.destroyed)).toHaveLength(40);
      // Checked once a second: closed within timeout + a generous margin on a loaded machine.
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && slow.sockets.some((s) => !s.destroyed)) await sleep(200);
      expect(slow.sockets.filter((s) => !s.destroyed)).toHaveLength(0);
      expect(slow.statuses.filter((s) => s === '408').length).toBeGreaterThan(30);
      await timedHealth(daemon.url);
    } finally {
      slow.stop();
      expect(await daemon.stop()).toBe(0);
    }
  });

  it('exits 0 on SIGTERM with slow bodies and predictions in flight, within the shutdown timeout', async () => {
    const daemon = await spawnDaemon(['--db', tempDb()]); // default request timeout (30 s): the sockets stay open
    const slow = slowBodies(daemon.url, 100);
    try {
      const tx = JSON.stringify({ amount: 10, hour: 12, day_of_week: 1, merchant_category: 2 });
      const load = Array.from({ length: 20 }, () =>
        fetch(`${daemon.url}/api/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: tx,
        }).then(
          (r) => r.status,
          () => 'cut',
        ),
      );
      await sleep(1500);
      const t0 = Date.now();
      daemon.proc.kill('SIGTERM');
      expect(await daemon.exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect((await Promise.all(load)).filter((s) => s !== 200 && s !== 503 && s !== 'cut')).toEqual([]);
      expect(daemon.logs.at(-1)).toMatch(/"msg":"stopped"/);
    } finally {
      slow.stop();
    }
  });
});

describe('large bodies and batches', () => {
  let daemon: DaemonProcess;
  it('refuses a 9 MB CSV body with 413 as soon as the rows pass the batch limit, health answering throughout', async () => {
    daemon = await spawnDaemon(['--db', tempDb()]);
    try {
      const big = csvRows(820_000); // ~9 MB, 82x the default batch limit
      expect(big.length).toBeGreaterThan(9_000_000);
      const health: number[] = [];
      let polling = true;
      const poll = (async () => {
        while (polling) {
          health.push(await timedHealth(daemon.url));
          await sleep(50);
        }
      })();
      const t0 = performance.now();
      const answers = await Promise.all(
        Array.from({ length: 6 }, () =>
          fetch(`${daemon.url}/api/predict-batch`, {
            method: 'POST',
            headers: { 'content-type': 'text/csv' },
            body: big,
          }).then(async (r) => ({ status: r.status, body: await r.json() })),
        ),
      ).finally(() => (polling = false));
      const seconds = (performance.now() - t0) / 1000;
      await poll;
      for (const a of answers) {
        expect(a.status).toBe(413);
        expect(a.body.error).toMatch(/too many transactions: more than 10000/);
      }
      // Before: parsed whole, 6-7 s of blocked event loop each. Generous bounds for a loaded 2-core machine.
      expect(seconds).toBeLessThan(5);
      expect(Math.max(...health)).toBeLessThan(2000);
      const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
      const rss = Number(/^process_resident_memory_bytes (\S+)$/m.exec(metrics)?.[1]);
      expect(rss / 2 ** 20).toBeLessThan(600); // before: 1.28 GB
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  });

  it('keeps health answering while six batches at the limit are scored', async () => {
    daemon = await spawnDaemon(['--db', tempDb()]);
    try {
      const body = csvRows(10_000);
      const batches = Array.from({ length: 6 }, () =>
        fetch(`${daemon.url}/api/predict-batch?store=false`, {
          method: 'POST',
          headers: { 'content-type': 'text/csv' },
          body,
        }).then(async (r) => ({ status: r.status, body: await r.json() })),
      );
      await sleep(300);
      const health: number[] = [];
      for (let i = 0; i < 5; i++) {
        health.push(await timedHealth(daemon.url));
        await sleep(100);
      }
      const answers = await Promise.all(batches);
      expect(answers.every((a) => (a.status === 200 && a.body.scored === 10_000) || a.status === 503)).toBe(true);
      expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(0);
      // Before: health waited for every batch in turn (8-10 s). Scoring now yields every 512 rows.
      expect(Math.max(...health)).toBeLessThan(5000);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  });
});

describe('load shedding', () => {
  it('answers 503 + Retry-After while the event loop lags, and health still 200', async () => {
    // A 1 ms threshold: the machine's own noise plus the batches below are well above it.
    const daemon = await spawnDaemon(['--db', tempDb(), '--max-event-loop-delay', '1']);
    try {
      const tx = JSON.stringify({ amount: 10, hour: 12, day_of_week: 1, merchant_category: 2 });
      const body = JSON.stringify({
        transactions: Array.from({ length: 5000 }, (_, i) => ({
          amount: i,
          hour: 3,
          day_of_week: 2,
          merchant_category: 4,
        })),
      });
      const shed: Response[] = [];
      const deadline = Date.now() + 20_000;
      while (shed.length === 0 && Date.now() < deadline) {
        const busy = fetch(`${daemon.url}/api/predict-batch?store=false`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        }).then((r) => r.arrayBuffer());
        await sleep(700);
        for (let i = 0; i < 5; i++) {
          const r = await fetch(`${daemon.url}/api/predict`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: tx,
          });
          if (r.status === 503) shed.push(r);
          else expect(r.status).toBe(200);
          expect((await fetch(`${daemon.url}/api/health`)).status).toBe(200);
        }
        await busy;
      }
      expect(shed.length).toBeGreaterThan(0);
      expect(shed[0].headers.get('retry-after')).toBe('1');
      expect((await shed[0].json()).error).toMatch(/overloaded/);
      expect((await fetch(`${daemon.url}/metrics`)).status).toBe(200);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  });
});
