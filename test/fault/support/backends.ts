import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import pg from 'pg';
import type { LoadResult } from './load.js';
import { sleep } from './daemon.js';

export const PG_URL = process.env.SECUREFLOW_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';

export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** Whether Postgres answers; the suite fails instead of skipping when SECUREFLOW_REQUIRE_POSTGRES=1. */
export async function postgresReachable(): Promise<string | null> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return null;
  } catch (e) {
    return (e as Error).message;
  } finally {
    await c.end().catch(() => {});
  }
}

export interface PrivateDatabase {
  name: string;
  /** The URL the daemon gets. */
  url: string;
  /** Runs SQL as the admin, in this database. */
  query(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  /** Terminates every backend the daemon(s) hold in this database; returns how many. */
  terminateBackends(): Promise<number>;
  /** Every stored (id, reference). */
  stored(): Promise<{ id: number; reference: string | null }[]>;
  drop(): Promise<void>;
}

/**
 * A private database per scenario: other helpers' tests share the server, and terminating "the daemon's
 * backends" must mean only this scenario's ones (picked by database name, not by application_name).
 */
export async function privateDatabase(): Promise<PrivateDatabase> {
  const name = `sf_fault_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  const adminUrl = new URL(url);
  adminUrl.searchParams.set('application_name', 'fault-admin'); // spared by terminateBackends()
  const pool = new pg.Pool({ connectionString: adminUrl.toString(), max: 2 });
  pool.on('error', () => {});
  const db: PrivateDatabase = {
    name,
    url: url.toString(),
    query: (sql, params) => pool.query(sql, params as unknown[]),
    async terminateBackends() {
      const r = await pool.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name <> $2',
        [name, 'fault-admin'],
      );
      return r.rowCount ?? 0;
    },
    async stored() {
      const r = await pool.query('SELECT id, reference FROM transactions ORDER BY id');
      return r.rows.map((row) => ({ id: Number(row.id), reference: row.reference }));
    },
    async drop() {
      await pool.end().catch(() => {});
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await c.end();
    },
  };
  return db;
}

/** Acknowledged vs stored: every acked reference stored once, under the id the client was given. */
export async function ackedVsStored(db: PrivateDatabase, ...loads: LoadResult[]) {
  const rows = await db.stored();
  const byRef = new Map<string, number[]>();
  for (const r of rows) if (r.reference !== null) byRef.set(r.reference, [...(byRef.get(r.reference) ?? []), r.id]);
  let acked = 0;
  const missing: string[] = [];
  const wrongId: string[] = [];
  for (const load of loads) {
    for (const [ref, id] of load.acked) {
      acked++;
      const ids = byRef.get(ref);
      if (!ids) missing.push(ref);
      else if (!ids.includes(id)) wrongId.push(ref);
    }
  }
  const duplicated = [...byRef].filter(([, ids]) => ids.length > 1).map(([ref]) => ref);
  return { acked, stored: rows.length, missing, wrongId, duplicated };
}

export interface PrivateRedis {
  url: string;
  port: number;
  start(): Promise<void>;
  /** Kills the server (a crash: no save, no goodbye). */
  kill(): Promise<void>;
}

/** A redis-server of our own on a free port, so the shared one (other helpers' tests) is never stopped. */
export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let proc: ChildProcess | null = null;
  const r: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      const p = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { stdio: 'ignore' },
      );
      const reap = () => p.kill('SIGKILL'); // never left running after the worker ends
      process.once('exit', reap);
      p.once('exit', () => process.off('exit', reap));
      proc = p;
      const end = Date.now() + 10_000;
      for (;;) {
        if (await pingRedis(port)) return;
        if (Date.now() > end) throw new Error(`redis-server on ${port} did not start`);
        await sleep(100);
      }
    },
    async kill() {
      const p = proc;
      proc = null;
      if (!p || p.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        p.once('exit', () => resolve());
        p.kill('SIGKILL');
      });
    },
  };
  await r.start();
  return r;
}

/** PING over a raw socket: no client library needed to know the server is up. */
function pingRedis(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    import('node:net').then(({ connect }) => {
      const s = connect(port, '127.0.0.1');
      const done = (ok: boolean) => {
        s.destroy();
        resolve(ok);
      };
      s.on('error', () => done(false));
      s.setTimeout(1000, () => done(false));
      s.on('connect', () => s.write('PING\r\n'));
      s.on('data', (d) => done(d.toString().startsWith('+PONG')));
    });
  });
}
