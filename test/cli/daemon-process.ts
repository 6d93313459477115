import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, ROOT } from './run-cli.js';

export interface DaemonProcess {
  url: string;
  proc: ChildProcess;
  /** Every log line so far (JSON text). */
  logs: string[];
  /** Resolves with the exit code once the process ends. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `bin/secureflow serve` as a real process on a free port; resolves once it listens. */
export async function spawnDaemon(args: string[], env: Record<string, string> = {}): Promise<DaemonProcess> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
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
    setTimeout(() => reject(new Error(`daemon did not start in 15 s: ${stderr}`)), 15_000);
  });
  return {
    url,
    proc,
    logs,
    exited,
    stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
  };
}
