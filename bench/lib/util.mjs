// Small helpers shared by the benchmark sections: timing, formatting, tables, child processes.
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, openSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = fileURLToPath(new URL('../../bin/secureflow', import.meta.url));
export const GNU_TIME = '/usr/bin/time';
/** One transaction from flags, not stored, as JSON: what the cold-start and executable sections time. */
export const SCORE_ONE = [
  'score',
  '--no-store',
  '--amount',
  '120',
  '--hour',
  '3',
  '--day-of-week',
  '6',
  '--merchant-category',
  '9',
  '--transaction-type',
  '2',
  '--format',
  'json',
];

export const now = () => performance.now();

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** 1234567 -> "1,234,567"; keeps `digits` decimals. */
export function num(x, digits = 0) {
  if (x === null || x === undefined || Number.isNaN(x)) return 'n/a';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const secs = (ms) => (ms === null || ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(2)} s`);
export const millis = (ms) => (ms === null || ms === undefined ? 'n/a' : `${ms.toFixed(1)} ms`);
export const mib = (kb) => (kb === null || kb === undefined ? 'n/a' : `${(kb / 1024).toFixed(0)} MiB`);
export const rate = (rowsPerSec) =>
  rowsPerSec === null || rowsPerSec === undefined ? 'n/a' : `${num(Math.round(rowsPerSec / 1000))}k rows/s`;

/** An aligned text table: first column left-aligned, the others right-aligned. */
export function table(headers, rows) {
  const cells = [headers, ...rows].map((r) => r.map((c) => String(c)));
  const widths = headers.map((_, j) => Math.max(...cells.map((r) => (r[j] ?? '').length)));
  const line = (r) =>
    r
      .map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j])))
      .join('   ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('   ');
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].map((l) => '  ' + l).join('\n');
}

export const hasGnuTime = () => existsSync(GNU_TIME);

/**
 * Runs `command args`, stdout to `stdoutPath` (a file or /dev/null), under GNU time when available.
 * Returns { wallMs, rssKb, exitCode, stderr }; wall time is measured here, peak RSS comes from GNU time.
 */
export function runMeasured(command, args, { stdoutPath = '/dev/null', cwd = ROOT, env = process.env } = {}) {
  const useTime = hasGnuTime();
  const cmd = useTime ? GNU_TIME : command;
  const argv = useTime ? ['-f', '%e %M', command, ...args] : args;
  const fd = openSync(stdoutPath, 'w');
  return new Promise((resolve, reject) => {
    let stderr = '';
    const t0 = now();
    let child;
    try {
      child = spawn(cmd, argv, { cwd, env, stdio: ['ignore', fd, 'pipe'] });
    } catch (e) {
      closeSync(fd);
      reject(e);
      return;
    }
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (e) => {
      closeSync(fd);
      reject(e);
    });
    child.on('close', (code) => {
      const wallMs = now() - t0;
      closeSync(fd);
      let rssKb = null;
      let rest = stderr;
      if (useTime) {
        const lines = stderr.trimEnd().split('\n');
        const m = /^([\d.]+) (\d+)$/.exec(lines.at(-1) ?? '');
        if (m) {
          rssKb = Number(m[2]);
          lines.pop();
        }
        rest = lines.filter((l) => !/^Command exited with non-zero status/.test(l)).join('\n');
      }
      resolve({ wallMs, rssKb, exitCode: code, stderr: rest.trim() });
    });
  });
}

/** Like runMeasured, but throws if the command fails. */
export async function runChecked(command, args, opts) {
  const r = await runMeasured(command, args, opts);
  if (r.exitCode !== 0) {
    throw new Error(
      `${[command, ...args].join(' ')} exited with ${r.exitCode}: ${r.stderr.slice(0, 500) || '(no stderr)'}`,
    );
  }
  return r;
}

/** Wall time of a quick synchronous command with stdout and stderr discarded. */
export function timeSync(command, args, cwd = ROOT) {
  const t0 = now();
  const r = spawnSync(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = now() - t0;
  if (r.error) throw r.error;
  if (r.status !== 0)
    throw new Error(`${[command, ...args].join(' ')} exited with ${r.status}: ${String(r.stderr).slice(0, 300)}`);
  return ms;
}

/** Number of '\n' in a file. */
export async function countLines(path) {
  let n = 0;
  for await (const chunk of createReadStream(path)) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  }
  return n;
}
