import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BIN, ROOT } from './run-cli.js';

/**
 * `bin/secureflow serve` as a real process (the one way every test starts the built daemon; SECUREFLOW_BIN
 * runs it from another build). The environment's database, Redis and rate limit are cleared: tests pass their own.
 */
export interface DaemonProcess {
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
export async function spawnDaemon(args: string[], env: Record<string, string> = {}): Promise<DaemonProcess> {
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
  const exited = new Promise<number | null>((resolve) =>
    proc.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))),
  );
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
