/**
 * The network between the daemon and Postgres is cut, then frozen (connections open, nothing moves), under
 * load: 503s are allowed during the fault and nothing else 5xx; the process stays up; every acknowledged
 * write is stored once; health recovers.
 */
import { afterEach, expect, it } from 'vitest';
import { ackedVsStored, privateDatabase, type PrivateDatabase } from './support/backends.js';
import { alive, sleep, spawnDaemon, waitHealthy, type Daemon } from './support/daemon.js';
import { describeWithPostgres } from './support/guard.js';
import { startLoad, startProbe } from './support/load.js';
import { TcpProxy } from '../support/tcp-proxy.js';

let daemon: Daemon | undefined;
let db: PrivateDatabase | undefined;
let proxy: TcpProxy | undefined;
afterEach(async () => {
  await daemon?.stop('SIGKILL');
  await proxy?.cut();
  await db?.drop();
  daemon = db = proxy = undefined;
});

describeWithPostgres('fault: the network to Postgres cut and frozen under load', () => {
  it('answers 503 at worst, loses no acknowledged write, and recovers', async () => {
    db = await privateDatabase();
    const target = new URL(db.url);
    proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    daemon = await spawnDaemon(['--db', viaProxy.toString()]);
    const load = startLoad(daemon.url, { concurrency: 8, timeoutMs: 60_000 });
    const probe = startProbe(daemon.url);
    await sleep(2000);

    await proxy.cut();
    await sleep(3000);
    await proxy.restore();
    await waitHealthy(daemon!, 'health after the cut');
    await sleep(1500);

    proxy.freeze();
    await sleep(4000);
    proxy.thaw();
    await waitHealthy(daemon!, 'health after the freeze', 30_000);
    await sleep(1500);

    const result = await load.stop();
    await probe.stop();
    expect(alive(daemon), `the daemon died: ${daemon.stderr().slice(0, 2000)}`).toBe(true);
    expect(result.unexpected5xx([503]), 'only 503 may answer a database fault').toEqual({});
    expect(result.count('error'), 'every request got an answer').toBe(0);
    expect(result.count(200)).toBeGreaterThan(20);
    const check = await ackedVsStored(db, result);
    expect(check.missing, 'acknowledged but not stored').toEqual([]);
    expect(check.wrongId).toEqual([]);
    expect(check.duplicated).toEqual([]);
    console.log(
      `[fault b] ${JSON.stringify({ statuses: result.statuses, p99_ms: Math.round(result.p99()), health_max_ms: Math.round(probe.max()), health: probe.statuses, acked: check.acked, stored: check.stored })}`,
    );
  });
});
