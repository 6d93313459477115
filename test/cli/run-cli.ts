import { parse } from 'csv-parse/sync';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// SECUREFLOW_BIN: run the same tests against another build (e.g. the one before a fix, to see them fail).
export const BIN = process.env.SECUREFLOW_BIN || fileURLToPath(new URL('../../bin/secureflow', import.meta.url));
export const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/${name}`, import.meta.url));

/** The contract's example transaction as flags: 4,800 at 03:00 on a Sunday, category 9, a transfer (flagged). */
export const EXAMPLE_FLAGS = [
  '--amount',
  '4800',
  '--hour',
  '3',
  '--day-of-week',
  '6',
  '--merchant-category',
  '9',
  '--transaction-type',
  '2',
];

/** Writes `path`: the CSV fixture `name`'s header, then its rows `times` over (a big file of known content). */
export function writeRepeatedFixture(name: string, times: number, path: string): void {
  const [header, ...rows] = readFileSync(fixture(name), 'utf8').trim().split('\n');
  writeFileSync(path, [header, ...Array.from({ length: times }, () => rows).flat()].join('\n') + '\n');
}

/** Tests never touch the user's own database: by default every run stores into this file. */
const TEST_DB = join(mkdtempSync(join(tmpdir(), 'secureflow-cli-')), 'default.db');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built bin/secureflow as a user would: a real process, stdin piped (not a terminal). */
export function cli(
  args: string[],
  options: { input?: string; env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): CliRun {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input: options.input ?? '',
    // A command that should stop at once (e.g. `serve` refusing to start) cannot hang the run if it does not.
    ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
    encoding: 'utf8',
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: '1', SECUREFLOW_DB: TEST_DB, DATABASE_URL: '', ...options.env },
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Parses CSV output into one object per row, keyed by the header. */
export function csvTable(text: string): Record<string, string>[] {
  return parse(text, { columns: true }) as Record<string, string>[];
}
