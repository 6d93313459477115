import { createKeyCli } from '../../cli/auth-helpers.js';
import type { DaemonProcess } from '../../cli/daemon-process.js';

export { spawnDaemon } from '../../cli/daemon-process.js';
export type Daemon = DaemonProcess;

/** Whether the process is still running (not exited, not killed). */
export const alive = (d: Daemon) => d.proc.exitCode === null && d.proc.signalCode === null;

/** `secureflow keys create` against `db`; returns the key. */
export function createKey(db: string, role = 'analyst', name = `fault ${role}`): string {
  return createKeyCli(db, role, name).key;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until `ok`, or throws naming `what` and the last value. */
export async function waitFor<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  let last: T | undefined;
  for (;;) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch (e) {
      last = String(e) as T;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
    await sleep(250);
  }
}

/** Waits for /api/health to say healthy; fails at once, with the daemon's stderr, if the process has died. */
export async function waitHealthy(d: Daemon, what = 'health', ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  let last = '';
  for (;;) {
    if (!alive(d)) throw new Error(`${what}: the daemon died: ${d.stderr().slice(0, 1500)}`);
    try {
      const r = await fetch(`${d.url}/api/health`);
      last = await r.text();
      if (JSON.parse(last).status === 'healthy') return;
    } catch (e) {
      last = String(e);
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${last}`);
    await sleep(250);
  }
}
