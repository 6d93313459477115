import { SecureflowError } from '../../core/errors.js';
import { localSource } from '../dashboard/local-source.js';
import { remoteSource } from '../dashboard/remote-source.js';
import type { DashboardSource } from '../dashboard/snapshot.js';
import type { IOStreams } from '../io.js';
import { remoteTarget } from '../remote-client.js';
import { colorEnabled } from '../terminal.js';

export interface DashboardOptions {
  db?: string;
  remote?: string;
  apiKey?: string;
  days: number;
  refresh: string;
  once?: boolean;
  format?: 'text' | 'json';
}

/** "2s", "500ms", "1m" → milliseconds (at least 200 ms). */
export function parseInterval(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(text);
  const ms = m ? Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000) : NaN;
  if (!Number.isFinite(ms) || ms < 200 || ms > 3_600_000) {
    throw new SecureflowError(
      'usage',
      `--refresh must be like 2s, 500ms or 1m (200ms..1h), got ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

export async function runDashboard(opts: DashboardOptions, io: IOStreams): Promise<void> {
  const interval = parseInterval(opts.refresh);
  const remote = remoteTarget(opts);
  if (remote && opts.db !== undefined) throw new SecureflowError('usage', 'give --db or --remote, not both');
  if (opts.format !== undefined && !opts.once)
    throw new SecureflowError('usage', '--format is for --once; the live dashboard draws on the terminal');
  const source: DashboardSource = remote ? remoteSource(remote.url, remote.apiKey) : localSource(opts.db);
  try {
    if (opts.once) {
      const snapshot = await source.snapshot(opts.days);
      if (opts.format === 'json') io.stdout.write(`${JSON.stringify(snapshot, null, 2)}\n`);
      else {
        const { renderPlain } = await import('../dashboard/plain.js');
        io.stdout.write(renderPlain(snapshot));
      }
      return;
    }
    if (!io.stdout.isTTY || !io.stdin.isTTY) {
      throw new SecureflowError(
        'usage',
        'the live dashboard needs a terminal; use --once (and --format json) for scripts and pipes',
      );
    }
    // Ink and React load here only: no other command pays for them.
    const { runLiveDashboard } = await importInkUnlessCi();
    await runLiveDashboard(source, { days: opts.days, intervalMs: interval, color: colorEnabled(io.stdout) }, io);
  } finally {
    await source.close();
  }
}

/**
 * Ink draws only the final frame when CI or CONTINUOUS_INTEGRATION is set (read once, when Ink loads), so a user
 * at a real terminal with CI=true exported (CI runners' shells, dev containers) would see a blank screen until
 * exit. We already require a terminal here, so hide those variables from Ink while it loads.
 */
async function importInkUnlessCi(): Promise<typeof import('../dashboard/live.js')> {
  const saved = { CI: process.env.CI, CONTINUOUS_INTEGRATION: process.env.CONTINUOUS_INTEGRATION };
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  try {
    return await import('../dashboard/live.js');
  } finally {
    for (const [name, value] of Object.entries(saved)) if (value !== undefined) process.env[name] = value;
  }
}
