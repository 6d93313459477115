/**
 * Postgres cutting the daemon's connections in the middle of writes (a failover, a restart, pg_terminate_backend):
 * the built daemon must stay up, store every write it acknowledged, and report healthy again.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnDaemon } from '../cli/daemon-process.js';
import { call } from '../daemon/server-helpers.js';
import { adminPool, freshSchema, pgReachable, pgRequired } from '../support/postgres.js';

const admin = adminPool();
const reachable = await pgReachable(admin);
afterAll(() => admin.end());

const tx = { amount: 42, hour: 3, day_of_week: 2, merchant_category: 1, transaction_type: 0 };

describe.skipIf(!reachable && !pgRequired)('Postgres connections terminated under load (built daemon)', () => {
  it('stays up, stores every acknowledged write, and recovers', async () => {
    expect(reachable).toBe(true);
    const { schema, appName, url } = await freshSchema(admin, 'sf_term');
    const daemon = await spawnDaemon(['--no-auth'], { DATABASE_URL: url });
    const acked: number[] = [];
    const statuses = new Map<number, number>();
    let kills = 0;
    try {
      const until = Date.now() + 5000;
      const worker = async () => {
        while (Date.now() < until && daemon.proc.exitCode === null) {
          const r = await call(daemon.url, 'POST', '/api/predict', { body: tx }).catch(() => ({
            status: 0,
            json: null,
          }));
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          if (r.status === 200) acked.push(r.json.transaction_id);
        }
      };
      const killer = async () => {
        while (Date.now() < until) {
          const { rowCount } = await admin.query(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
            [appName],
          );
          kills += rowCount ?? 0;
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      await Promise.all([killer(), ...Array.from({ length: 16 }, worker)]);

      expect(daemon.proc.exitCode, daemon.logs.slice(-5).join('\n')).toBeNull();
      expect(kills).toBeGreaterThan(5);
      // Refusals are 503 (the database went away), never a 500 or a dropped connection.
      expect(
        [...statuses.keys()].filter((s) => s !== 200 && s !== 503),
        JSON.stringify([...statuses]),
      ).toEqual([]);
      expect(acked.length).toBeGreaterThan(20);
      const { rows } = await admin.query(`SELECT id FROM ${schema}.transactions WHERE id = ANY($1::int8[])`, [acked]);
      expect(rows.length).toBe(acked.length);
      expect(new Set(acked).size).toBe(acked.length);

      const end = Date.now() + 15_000;
      let health = await call(daemon.url, 'GET', '/api/health');
      while (health.json?.status !== 'healthy' && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 200));
        health = await call(daemon.url, 'GET', '/api/health');
      }
      expect(health.json.status).toBe('healthy');
      console.log(
        `pg-terminate: ${kills} connections killed, ${acked.length} acked, ${rows.length} stored, statuses ${JSON.stringify([...statuses])}`,
      );
    } finally {
      await daemon.stop();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
  }, 60_000);
});
