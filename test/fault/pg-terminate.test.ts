/**
 * Postgres terminates the daemon's connections while it writes (failover, restart, pg_terminate_backend):
 * the process stays up, every acknowledged write is stored once, and health recovers.
 */
import { afterEach, expect, it } from 'vitest';
import { ackedVsStored, privateDatabase, type PrivateDatabase } from './support/backends.js';
import { alive, sleep, spawnDaemon, waitFor, waitHealthy, type Daemon } from './support/daemon.js';
import { describeWithPostgres } from './support/guard.js';
import { call, startLoad, startProbe } from './support/load.js';

let daemon: Daemon | undefined;
let db: PrivateDatabase | undefined;
afterEach(async () => {
  await daemon?.stop('SIGKILL');
  await db?.drop();
  daemon = db = undefined;
});

describeWithPostgres('fault: Postgres connections terminated under load', () => {
  it('stays up, stores every acknowledged write once, and recovers', async () => {
    db = await privateDatabase();
    daemon = await spawnDaemon(['--db', db.url]);
    const load = startLoad(daemon.url, { concurrency: 8 });
    const probe = startProbe(daemon.url);
    await sleep(2000);
    let terminated = 0;
    for (let i = 0; i < 4; i++) {
      terminated += await db.terminateBackends();
      await sleep(750);
    }
    await sleep(2000);
    const result = await load.stop();
    await probe.stop();

    expect(terminated, 'the daemon had connections to terminate').toBeGreaterThan(0);
    expect(alive(daemon), `the daemon died: ${daemon.stderr().slice(0, 2000)}`).toBe(true);
    expect(result.unexpected5xx([503]), 'only 503 may answer a database fault').toEqual({});
    expect(result.count(200)).toBeGreaterThan(20);
    await waitHealthy(daemon!, 'health');
    const after = await waitFor(
      'a write after the fault',
      () =>
        call(daemon!.url, 'POST', '/api/predict', {
          amount: 1,
          hour: 1,
          day_of_week: 1,
          merchant_category: 1,
          transaction_type: 0,
        }),
      (r) => r.status === 200,
    );
    expect(after.json.transaction_id).toBeGreaterThan(0);
    const check = await ackedVsStored(db, result);
    expect(check.missing, 'acknowledged but not stored').toEqual([]);
    expect(check.wrongId).toEqual([]);
    expect(check.duplicated).toEqual([]);
    console.log(
      `[fault a] ${JSON.stringify({ statuses: result.statuses, p99_ms: Math.round(result.p99()), health_max_ms: Math.round(probe.max()), acked: check.acked, stored: check.stored, terminated })}`,
    );
  });
});
