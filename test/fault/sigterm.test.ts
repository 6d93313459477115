/**
 * SIGTERM under load (a deploy, a scale-down): the daemon finishes what it acknowledged and exits 0; every
 * acknowledged write is stored. A slow body held open must not turn a clean stop into exit 1 at the timeout.
 */
import { afterEach, expect, it } from 'vitest';
import { slowBodies, type SlowBodies } from './support/attacks.js';
import { ackedVsStored, privateDatabase, type PrivateDatabase } from './support/backends.js';
import { sleep, spawnDaemon, type Daemon } from './support/daemon.js';
import { describeWithPostgres } from './support/guard.js';
import { startLoad } from './support/load.js';

let daemon: Daemon | undefined;
let db: PrivateDatabase | undefined;
let slow: SlowBodies | undefined;
afterEach(async () => {
  slow?.stop();
  await daemon?.stop('SIGKILL');
  await db?.drop();
  daemon = db = slow = undefined;
});

/** SIGTERM, then the exit code and how long it took. */
async function terminate(d: Daemon): Promise<{ code: number | null; ms: number }> {
  const start = performance.now();
  const code = await Promise.race([d.stop('SIGTERM'), sleep(20_000).then(() => 'hung' as const)]);
  if (code === 'hung') throw new Error('the daemon did not exit within 20 s of SIGTERM');
  return { code, ms: performance.now() - start };
}

describeWithPostgres('fault: SIGTERM under load', () => {
  it('exits 0 and every acknowledged write is stored', async () => {
    db = await privateDatabase();
    daemon = await spawnDaemon(['--db', db.url]);
    const load = startLoad(daemon.url, { concurrency: 8 });
    await sleep(3000);
    const exit = await terminate(daemon);
    const result = await load.stop(5000);
    const check = await ackedVsStored(db, result);
    console.log(
      `[fault g] ${JSON.stringify({ exit, statuses: result.statuses, acked: check.acked, stored: check.stored })}`,
    );
    expect(exit.code, daemon.stderr()).toBe(0);
    expect(result.count(200)).toBeGreaterThan(20);
    expect(result.unexpected5xx([503]), 'a stopping daemon may answer 503, nothing else 5xx').toEqual({});
    expect(check.missing, 'acknowledged but not stored').toEqual([]);
    expect(check.wrongId).toEqual([]);
    expect(check.duplicated).toEqual([]);
  });

  it('exits 0 promptly even with slow bodies held open', async () => {
    db = await privateDatabase();
    daemon = await spawnDaemon(['--db', db.url]);
    slow = slowBodies(daemon.url, 20);
    const load = startLoad(daemon.url, { concurrency: 4 });
    await sleep(2000);
    const exit = await terminate(daemon);
    const result = await load.stop(5000);
    const check = await ackedVsStored(db, result);
    console.log(
      `[fault g] with slow bodies ${JSON.stringify({ exit, statuses: result.statuses, acked: check.acked, stored: check.stored })}`,
    );
    expect(exit.code, `exit code (took ${Math.round(exit.ms)} ms): ${daemon.stderr()}`).toBe(0);
    expect(check.missing).toEqual([]);
    expect(check.duplicated).toEqual([]);
  });
});
