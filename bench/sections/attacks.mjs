// The daemon under attack: for each attack, what a legitimate key holder sees meanwhile (POST /api/predict p99,
// errors), the daemon's event-loop lag (prom-client's max over the attack), its peak RSS, health-check latency,
// and acknowledged vs stored writes; plus /api/predict with no attack, to show that the defences cost nothing.
//   SECUREFLOW_BENCH_BIN=/path/to/bin/secureflow  measure another build (e.g. the one before the fixes)
//   BENCH_ONLY=attacks                            only this section
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { CLI, ROOT, num, table } from '../lib/util.mjs';

const BIN = process.env.SECUREFLOW_BENCH_BIN || CLI;
const PG_URL = process.env.SECUREFLOW_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const tx = { amount: 4800, hour: 3, day_of_week: 6, merchant_category: 9, transaction_type: 2 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function pct(values, p) {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

function rssMb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return null;
  }
}

function cli(args) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: '' },
  });
  if (r.status !== 0) throw new Error(`secureflow ${args[0]} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function startDaemon(db, extra = []) {
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    [BIN, 'serve', '--port', String(port), '--db', db, '--log-level', 'warn', ...extra],
    {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', SECUREFLOW_RATE_LIMIT: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr = (stderr + d).slice(-20_000)));
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal)));
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`daemon exited ${proc.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${url}/api/health`)).ok) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error(`daemon did not start: ${stderr}`);
    await sleep(50);
  }
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  return {
    url,
    proc,
    exited,
    alive,
    stderr: () => stderr,
    stop: () => (alive() ? (proc.kill('SIGKILL'), exited) : exited),
  };
}

/** The daemon's own event-loop lag (prom-client, max since the last scrape, which resets it). */
async function loopLagMs(url, key) {
  try {
    const text = await (
      await fetch(`${url}/metrics`, {
        headers: { authorization: `Bearer ${key}` },
        signal: AbortSignal.timeout(30_000),
      })
    ).text();
    const m = /^nodejs_eventloop_lag_max_seconds (\S+)/m.exec(text);
    return m ? Number(m[1]) * 1000 : null;
  } catch {
    return null;
  }
}

/** A legitimate key holder: `concurrency` clients, each one POST /api/predict every `pauseMs`, unique references. */
function legit(url, key, { concurrency = 2, pauseMs = 50 } = {}) {
  const pool = new Pool(url, { connections: concurrency, headersTimeout: 60_000, bodyTimeout: 60_000 });
  const r = { lat: [], statuses: {}, acked: new Map() };
  const tag = randomBytes(4).toString('hex');
  let running = true;
  let n = 0;
  const worker = async () => {
    while (running) {
      const reference = `${tag}-${n++}`;
      const t = performance.now();
      let status = 'error';
      try {
        const res = await pool.request({
          path: '/api/predict',
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ ...tx, reference }),
        });
        const body = await res.body.text();
        status = String(res.statusCode);
        if (res.statusCode === 200) r.acked.set(reference, JSON.parse(body).transaction_id);
      } catch {
        await sleep(50);
      }
      r.lat.push(performance.now() - t); // every request, answered or not: a stall is what the user sees
      r.statuses[status] = (r.statuses[status] ?? 0) + 1;
      if (pauseMs) await sleep(pauseMs);
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    r,
    async stop() {
      running = false;
      await Promise.race([Promise.all(workers), sleep(15_000)]);
      await pool.destroy().catch(() => {});
      return r;
    },
  };
}

/** Health probe every 200 ms on its own connection: worst latency. */
function probe(url) {
  const pool = new Pool(url, { connections: 1, headersTimeout: 60_000 });
  const lat = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      try {
        const res = await pool.request({ path: '/api/health', method: 'GET' });
        await res.body.dump();
      } catch {
        /* still a latency */
      }
      lat.push(performance.now() - t);
      await sleep(200);
    }
  })();
  return {
    async stop() {
      running = false;
      await Promise.race([loop, sleep(15_000)]);
      await pool.destroy().catch(() => {});
      return Math.max(0, ...lat);
    },
  };
}

// --- the attacks: each returns stop() ---

function bogusKeyFlood(url, realId, perSecond = 200) {
  const pool = new Pool(url, { connections: 64, headersTimeout: 60_000 });
  let inflight = 0;
  const body = JSON.stringify(tx);
  const timer = setInterval(() => {
    for (let i = 0; i < perSecond / 50 && inflight < 256; i++) {
      inflight++;
      const id = Math.random() < 0.5 ? realId : 1 + Math.floor(Math.random() * 1000);
      pool
        .request({
          path: '/api/predict',
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer sf_${id}_${randomBytes(32).toString('base64url')}`,
          },
          body,
        })
        .then(
          (res) => res.body.dump(),
          () => {},
        )
        .finally(() => inflight--);
    }
  }, 20);
  return async () => {
    clearInterval(timer);
    await pool.destroy().catch(() => {});
  };
}

function slowloris(url, count = 500) {
  const { hostname, port } = new URL(url);
  const sockets = [];
  for (let i = 0; i < count; i++) {
    const s = connect(Number(port), hostname);
    s.on('error', () => {});
    s.on('data', () => {});
    s.on('connect', () =>
      s.write(
        `POST /api/predict HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n`,
      ),
    );
    sockets.push(s);
  }
  const timer = setInterval(
    () =>
      sockets.forEach((s) => {
        s.writable && s.write(' ');
      }),
    1000,
  );
  return async () => {
    clearInterval(timer);
    sockets.forEach((s) => {
      s.destroy();
    });
  };
}

function bigCsv(bytes) {
  const rows = ['amount,merchant_category,transaction_type,hour,day_of_week'];
  for (let i = 0, size = 60; size < bytes; i++) {
    const row = `${(i % 5000) + 0.25},${i % 10},${i % 3},${i % 24},${i % 7}`;
    rows.push(row);
    size += row.length + 1;
  }
  return rows.join('\n') + '\n';
}

/** `parallel` clients sending the same request back to back. */
function repeat(url, parallel, request) {
  let running = true;
  let sent = 0;
  const statuses = {};
  const loops = Array.from({ length: parallel }, async () => {
    while (running) {
      sent++;
      try {
        const res = await fetch(url + request.path, {
          method: request.method,
          headers: request.headers,
          body: request.body,
          signal: AbortSignal.timeout(60_000),
        });
        await res.arrayBuffer();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      } catch {
        statuses.error = (statuses.error ?? 0) + 1;
        await sleep(100);
      }
    }
  });
  return async () => {
    running = false;
    await Promise.race([Promise.all(loops), sleep(20_000)]);
    return { sent, statuses };
  };
}

function csvFlood(url, key) {
  const body = bigCsv(9 * 1024 * 1024);
  return repeat(url, 6, {
    path: '/api/predict-batch',
    method: 'POST',
    headers: { 'content-type': 'text/csv', authorization: `Bearer ${key}` },
    body,
  });
}

function hugeListing(url, key) {
  return repeat(url, 2, {
    path: '/api/transactions?limit=100000',
    method: 'GET',
    headers: { authorization: `Bearer ${key}` },
  });
}

function pgTerminate(admin, dbName) {
  let count = 0;
  const timer = setInterval(() => {
    admin
      .query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [
        dbName,
      ])
      .then(
        (r) => (count += r.rowCount ?? 0),
        () => {},
      );
  }, 500);
  return async () => {
    clearInterval(timer);
    return { terminated: count };
  };
}

// --- stored rows, to compare with what was acknowledged ---

async function storedRefsSqlite(file) {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT id, reference FROM transactions WHERE reference IS NOT NULL').all();
  } finally {
    db.close();
  }
}

function ackedVsStored(acked, rows) {
  const byRef = new Map();
  for (const row of rows) byRef.set(row.reference, [...(byRef.get(row.reference) ?? []), Number(row.id)]);
  let missing = 0;
  for (const [ref, id] of acked) if (!(byRef.get(ref) ?? []).includes(id)) missing++;
  const duplicated = [...byRef.values()].filter((ids) => ids.length > 1).length;
  return { acked: acked.size, missing, duplicated };
}

/** Runs one attack against a fresh daemon and measures the legitimate client meanwhile. */
async function measure(name, seconds, { db, key, realId, daemonArgs = [], attack, stored, populate }) {
  const d = await startDaemon(db, daemonArgs);
  try {
    if (populate) await populate(d.url, key);
    await sleep(500);
    await loopLagMs(d.url, key); // resets the max
    const rssStart = rssMb(d.proc.pid);
    let rssPeak = rssStart;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMb(d.proc.pid) ?? 0)), 100);
    const stopAttack = attack ? attack(d.url, key, realId) : async () => null;
    await sleep(attack ? 1000 : 0);
    const client = legit(d.url, key);
    const health = probe(d.url);
    await sleep(seconds * 1000);
    const r = await client.stop();
    const healthMax = await health.stop();
    const attackResult = await stopAttack();
    const lag = d.alive() ? await loopLagMs(d.url, key) : null;
    clearInterval(sampler);
    const alive = d.alive();
    const check = stored ? ackedVsStored(r.acked, await stored()) : null;
    return {
      attack: name,
      alive,
      legit_requests: r.lat.length,
      legit_ok: r.statuses['200'] ?? 0,
      legit_failed: r.lat.length - (r.statuses['200'] ?? 0),
      legit_statuses: r.statuses,
      legit_p50_ms: pct(r.lat, 50),
      legit_p99_ms: pct(r.lat, 99),
      legit_max_ms: Math.max(0, ...r.lat),
      health_max_ms: healthMax,
      eventloop_lag_max_ms: lag,
      rss_start_mb: rssStart,
      rss_peak_mb: rssPeak,
      ...(check ?? {}),
      attack_result: attackResult ?? undefined,
      daemon_error: alive
        ? undefined
        : d
            .stderr()
            .split('\n')
            .find((l) => /Error/.test(l)),
    };
  } finally {
    await d.stop();
  }
}

/** 100,000 stored transactions, for the big listing. */
async function populate100k(url, key) {
  const transactions = Array.from({ length: 10_000 }, (_, i) => ({ ...tx, amount: (i * 7.31) % 5000, hour: i % 24 }));
  const body = JSON.stringify({ transactions });
  for (let i = 0; i < 10; i++) {
    const r = await fetch(`${url}/api/predict-batch?explain=false`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body,
    });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`populating: predict-batch answered ${r.status}`);
  }
}

export async function attacks(ctx, out) {
  const seconds = ctx.quick ? 5 : 10;
  const dir = mkdtempSync(join(tmpdir(), 'secureflow-bench-attacks-'));
  out(
    `  binary: ${BIN}; ${seconds} s per attack; legitimate client: 2 connections, one POST /api/predict every 50 ms each, with a key`,
  );
  const results = {};

  const sqlite = join(dir, 'attacks.db');
  const key = JSON.parse(
    cli(['keys', 'create', '--name', 'bench', '--role', 'analyst', '--db', sqlite, '-f', 'json']),
  ).key;
  const realId = Number(/^sf_(\d+)_/.exec(key)[1]);
  // Normal throughput: 8 connections back to back, no attack (the happy path's figure), with a key and open.
  const normal = async (db, headers) => {
    const d = await startDaemon(db);
    try {
      const pool = new Pool(d.url, { connections: 8 });
      const lat = [];
      let errors = 0;
      const end = performance.now() + seconds * 1000;
      const body = JSON.stringify(tx);
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (performance.now() < end) {
            const t = performance.now();
            const res = await pool.request({
              path: '/api/predict',
              method: 'POST',
              headers: { 'content-type': 'application/json', ...headers },
              body,
            });
            await res.body.dump();
            if (res.statusCode !== 200) errors++;
            lat.push(performance.now() - t);
          }
        }),
      );
      await pool.close();
      return { rps: lat.length / seconds, p50_ms: pct(lat, 50), p99_ms: pct(lat, 99), errors };
    } finally {
      await d.stop();
    }
  };
  results.normal = await normal(sqlite, { authorization: `Bearer ${key}` });
  results.normal_open = await normal(join(dir, 'open.db'), {});
  for (const [label, n] of [
    ['with a key', results.normal],
    ['no keys (open loopback)', results.normal_open],
  ]) {
    out(
      `  normal POST /api/predict (SQLite, ${label}, 8 connections back to back): ${num(n.rps)} req/s, p50 ${n.p50_ms.toFixed(1)} ms, p99 ${n.p99_ms.toFixed(1)} ms, ${n.errors} non-200`,
    );
  }

  const common = { db: sqlite, key, realId, stored: () => storedRefsSqlite(sqlite) };
  const runs = [
    ['none', {}],
    ['bogus-key flood (200/s)', { attack: (url, _key, id) => bogusKeyFlood(url, id) }],
    ['slowloris (500 slow bodies)', { attack: (url) => slowloris(url) }],
    ['oversized CSV (6 x 9 MB at once, repeated)', { attack: (url, k) => csvFlood(url, k) }],
    [
      'GET /api/transactions?limit=100000 (2 at once, repeated)',
      { attack: (url, k) => hugeListing(url, k), populate: populate100k },
    ],
  ];
  results.attacks = [];
  for (const [name, opts] of runs) {
    try {
      results.attacks.push(await measure(name, seconds, { ...common, ...opts }));
    } catch (e) {
      results.attacks.push({ attack: name, error: String(e?.message ?? e) });
    }
  }

  // Postgres connections terminated every 500 ms, in a private database.
  const pg = (await import('pg')).default;
  const name = `sf_bench_attacks_${process.pid}`;
  const admin = new pg.Pool({ connectionString: PG_URL, max: 2, connectionTimeoutMillis: 3000 });
  admin.on('error', () => {});
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(PG_URL);
    url.pathname = `/${name}`;
    const pgKey = JSON.parse(
      cli(['keys', 'create', '--name', 'bench', '--role', 'analyst', '--db', url.toString(), '-f', 'json']),
    ).key;
    const reader = new pg.Pool({ connectionString: url.toString(), max: 1 });
    reader.on('error', () => {});
    try {
      results.attacks.push(
        await measure('Postgres backends terminated every 500 ms', seconds, {
          db: url.toString(),
          key: pgKey,
          attack: () => pgTerminate(admin, name),
          stored: async () =>
            (await reader.query('SELECT id, reference FROM transactions WHERE reference IS NOT NULL')).rows,
        }),
      );
    } finally {
      await reader.end().catch(() => {});
    }
  } catch (e) {
    results.attacks.push({ attack: 'Postgres backends terminated every 500 ms', error: String(e?.message ?? e) });
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }

  const ms = (x) => (x === null || x === undefined ? 'n/a' : `${num(x, x < 10 ? 1 : 0)} ms`);
  out(
    table(
      [
        'attack',
        'up',
        'legit ok/sent',
        'legit p99',
        'legit max',
        'health max',
        'loop lag max',
        'RSS peak',
        'acked/stored ok',
      ],
      results.attacks.map((a) =>
        a.error
          ? [a.attack, 'n/a', `error: ${a.error.slice(0, 80)}`, '', '', '', '', '', '']
          : [
              a.attack,
              a.alive ? 'yes' : 'DIED',
              `${a.legit_ok}/${a.legit_requests}`,
              ms(a.legit_p99_ms),
              ms(a.legit_max_ms),
              ms(a.health_max_ms),
              ms(a.eventloop_lag_max_ms),
              `${num(a.rss_peak_mb)} MB`,
              a.acked === undefined
                ? 'n/a'
                : `${a.acked - a.missing}/${a.acked}${a.duplicated ? `, ${a.duplicated} dup` : ''}`,
            ],
      ),
    ),
  );
  for (const a of results.attacks) if (a.daemon_error) out(`  ${a.attack}: the daemon died: ${a.daemon_error}`);
  return results;
}
