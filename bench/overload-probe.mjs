// Measures the daemon under one attack: health latency, event-loop lag (from /metrics), peak RSS (VmHWM).
// usage: node bench/overload-probe.mjs BIN ATTACK [slowloris seconds, default 35: past the 30 s request timeout]   ATTACK: csv6 | limit | slowloris | sigterm | batch6
// BIN: bin/secureflow (this build) or another build's bin/secureflow, to compare before/after on one machine.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';

const [bin, attack, secs = '35'] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'sf-probe-'));
const db = join(dir, 'probe.db');
const HEADER = 'amount,hour,day_of_week,merchant_category\n';
const rows = (n) =>
  HEADER + Array.from({ length: n }, (_, i) => `${(i % 500) + 0.5},${i % 24},${i % 7},${i % 10}\n`).join('');

if (attack === 'limit') {
  writeFileSync(join(dir, 'seed.csv'), rows(100_000));
  spawnSync(process.execPath, [bin, 'score', join(dir, 'seed.csv'), '--db', db, '-f', 'json'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
const daemon = spawn(process.execPath, [bin, 'serve', '--port', '0', '--db', db], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, LOG_LEVEL: 'info', DATABASE_URL: '' },
});
let out = '';
const url = await new Promise((resolve) =>
  daemon.stdout.on('data', (d) => {
    out += d;
    const m = /"url":"([^"]+)"/.exec(out);
    if (m) resolve(m[1]);
  }),
);
const exited = new Promise((r) => daemon.on('exit', (code) => r(code)));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${daemon.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const lagMax = async () =>
  Number(/^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? NaN) *
  1000;

await sleep(500);
await lagMax(); // resets the lag histogram
// Health is polled from a worker thread: this thread is busy building and sending the attack's bodies.
const poller = new Worker(
  `const { parentPort, workerData } = require('node:worker_threads');
  const health = []; let polling = true;
  parentPort.on('message', () => (polling = false));
  (async () => {
    while (polling) {
      const t = performance.now();
      const s = await fetch(workerData + '/api/health', { signal: AbortSignal.timeout(30000) }).then((r) => r.status, () => 'error');
      health.push([performance.now() - t, s]);
      await new Promise((r) => setTimeout(r, 100));
    }
    parentPort.postMessage(health);
  })();`,
  { eval: true, workerData: url },
);
const pollerDone = new Promise((r) => poller.once('message', r));

const statuses = {};
const count = (s) => (statuses[s] = (statuses[s] ?? 0) + 1);
const post = (path, body, type) =>
  fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': type }, body }).then(
    (r) => (r.arrayBuffer(), r.status),
    (e) => e.cause?.code ?? 'error',
  );
let sigterm = null;
const t0 = performance.now();
if (attack === 'csv6') {
  const big = rows(820_000); // ~9 MB
  (await Promise.all(Array.from({ length: 6 }, () => post('/api/predict-batch', big, 'text/csv')))).forEach(count);
} else if (attack === 'batch6') {
  const atLimit = rows(10_000);
  (await Promise.all(Array.from({ length: 6 }, () => post('/api/predict-batch', atLimit, 'text/csv')))).forEach(count);
} else if (attack === 'limit') {
  (
    await Promise.all(
      Array.from({ length: 3 }, () =>
        fetch(`${url}/api/transactions?limit=100000`).then(
          async (r) => (await r.arrayBuffer(), r.status),
          () => 'error',
        ),
      ),
    )
  ).forEach(count);
} else if (attack === 'slowloris' || attack === 'sigterm') {
  const sockets = [];
  for (let i = 0; i < 200; i++) {
    const s = net.connect(Number(new URL(url).port), '127.0.0.1', () =>
      s.write(
        'POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{',
      ),
    );
    const t = setInterval(() => s.writable && s.write('1'), 1000);
    s.on('data', (d) => count(/^HTTP\/1.1 (\d+)/.exec(d.toString())?.[1] ?? 'data'));
    s.on('close', () => clearInterval(t));
    s.on('error', () => {});
    sockets.push(s);
  }
  if (attack === 'sigterm') {
    // Legitimate load as well: predictions in flight when the signal comes.
    const tx = JSON.stringify({ amount: 10, hour: 12, day_of_week: 1, merchant_category: 2 });
    const load = Array.from({ length: 20 }, () => post('/api/predict', tx, 'application/json'));
    await sleep(2000);
    const ts = performance.now();
    daemon.kill('SIGTERM');
    const code = await exited;
    sigterm = { code, seconds: +((performance.now() - ts) / 1000).toFixed(2) };
    (await Promise.all(load)).forEach(count);
  } else {
    await sleep(Number(secs) * 1000);
    count(`open after ${secs}s: ${sockets.filter((s) => !s.destroyed).length}`);
  }
  sockets.forEach((s) => {
    s.destroy();
  });
}
const attackSeconds = (performance.now() - t0) / 1000;
poller.postMessage('stop');
const health = await pollerDone;
const lat = health
  .filter(([, s]) => s === 200)
  .map(([ms]) => ms)
  .sort((a, b) => a - b);
const pct = (p) => (lat.length ? +lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))].toFixed(1) : null);
const result = {
  attack,
  bin,
  attack_seconds: +attackSeconds.toFixed(2),
  statuses,
  health: {
    n: health.length,
    failed: health.filter(([, s]) => s !== 200).length,
    p50_ms: pct(50),
    p99_ms: pct(99),
    max_ms: lat.length ? +lat.at(-1).toFixed(1) : null,
  },
  event_loop_lag_max_ms: sigterm ? null : +(await lagMax()).toFixed(1),
  peak_rss_mb: sigterm ? null : +hwm().toFixed(0),
  sigterm,
};
console.log(JSON.stringify(result));
if (!sigterm) daemon.kill('SIGTERM');
await exited;
await poller.terminate();
process.exit(0); // the health worker's keep-alive socket would hold the process open
