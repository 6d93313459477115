import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The built CLI; SECUREFLOW_BIN points the suite at another build (e.g. the pre-fix one, to see it fail). */
export const BIN = process.env.SECUREFLOW_BIN || fileURLToPath(new URL('../../../bin/secureflow', import.meta.url));

export interface Daemon {
  url: string;
  proc: ChildProcess;
  /** stdout log lines (JSON) so far. */
  logs: string[];
  stderr(): string;
  exited: Promise<number | null>;
  /** Resident set size now, in MB (from /proc). */
  rssMb(): number;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `bin/secureflow serve` as a real process on a free loopback port; resolves once it listens. */
export async function spawnDaemon(args: string[], env: Record<string, string> = {}): Promise<Daemon> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', SECUREFLOW_RATE_LIMIT: '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A worker that ends early (a timeout, a crash) must not leave daemons behind.
  const reap = () => proc.kill('SIGKILL');
  process.once('exit', reap);
  proc.once('exit', () => process.off('exit', reap));
  const logs: string[] = [];
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))));
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString();
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        logs.push(line);
        try {
          const parsed = JSON.parse(line);
          if (parsed.url && parsed.msg === 'secureflow serving') resolve(parsed.url);
        } catch {
          /* not JSON */
        }
      }
    });
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    exited.then((code) => reject(new Error(`daemon exited with ${code} before listening: ${stderr}`)));
    setTimeout(() => reject(new Error(`daemon did not start in 20 s: ${stderr}`)), 20_000);
  });
  return {
    url,
    proc,
    logs,
    stderr: () => stderr,
    exited,
    rssMb() {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
        return m ? Number(m[1]) / 1024 : 0;
      } catch {
        return 0;
      }
    },
    stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Whether the process is still running (not exited, not killed). */
export const alive = (d: Daemon) => d.proc.exitCode === null && d.proc.signalCode === null;

/** `secureflow keys create` against `db`; returns the key. */
export function createKey(db: string, role = 'analyst', name = `fault ${role}`): string {
  const r = spawnSync(process.execPath, [BIN, 'keys', 'create', '--name', name, '--role', role, '--db', db, '-f', 'json'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: '', NO_COLOR: '1' },
  });
  if (r.status !== 0) throw new Error(`keys create exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout).key as string;
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
