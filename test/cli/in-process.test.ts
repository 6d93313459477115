/**
 * Commands run in-process with injected streams (src/cli/io.ts): output adapts to whether stdout is a terminal,
 * and errors go to the injected stderr with the table's exit code. (Every command also runs through the built
 * bin/secureflow in the other CLI tests; this is what lets a command be tested without spawning.)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { IOStreams } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { EXAMPLE_FLAGS } from './run-cli.js';

function fakeIO(tty: boolean, input = ''): IOStreams & { out(): string; err(): string } {
  const collect = (s: PassThrough) => {
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    return () => text;
  };
  const stdin = Object.assign(new PassThrough(), { isTTY: tty });
  stdin.end(input);
  const stdout = Object.assign(new PassThrough(), { isTTY: tty, columns: 100 });
  const stderr = Object.assign(new PassThrough(), { isTTY: tty, columns: 100 });
  const out = collect(stdout);
  const err = collect(stderr);
  return { stdin, stdout, stderr, out, err };
}

const run = (args: string[], io: IOStreams) => main(['node', 'secureflow', ...args], io);
const ONE = [...EXAMPLE_FLAGS, '--no-store'];

describe('commands with injected streams', () => {
  it('score: text for a terminal, JSON for a pipe, and JSON read from the injected stdin', async () => {
    const tty = fakeIO(true);
    expect(await run(['score', ...ONE], tty)).toBe(0);
    expect(tty.out()).toMatch(/FLAGGED|flagged/i);
    expect(() => JSON.parse(tty.out())).toThrow();
    const pipe = fakeIO(false);
    expect(await run(['score', ...ONE], pipe)).toBe(0);
    expect(JSON.parse(pipe.out())).toMatchObject({ is_anomaly: true, transaction: { amount: 4800 } });
    const stdin = fakeIO(false, '{"amount": 20, "hour": 11, "day_of_week": 2, "merchant_category": 1}');
    expect(await run(['score', '--no-store'], stdin)).toBe(0);
    expect(JSON.parse(stdin.out())).toMatchObject({ transaction: { amount: 20, hour: 11 } });
  });

  it('models list: a table for a terminal, JSON for a pipe', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'secureflow-io-')), 'x.db');
    expect(await run(['migrate', '--db', db], fakeIO(false))).toBe(0);
    const tty = fakeIO(true);
    expect(await run(['models', 'list', '--db', db], tty)).toBe(0);
    expect(tty.out()).toMatch(/^no registered models: scoring uses the bundled model [0-9a-f]{16}/);
    const pipe = fakeIO(false);
    expect(await run(['models', 'list', '--db', db], pipe)).toBe(0);
    expect(JSON.parse(pipe.out())).toEqual([]);
  });

  it('errors and usage mistakes go to the injected stderr with the exit code, nothing to stdout', async () => {
    const missing = fakeIO(false);
    expect(await run(['transactions', 'list', '--db', '/nonexistent/typo.db'], missing)).toBe(4);
    expect(missing.err()).toBe(
      'secureflow: no database at /nonexistent/typo.db: nothing has been stored there (check --db, SECUREFLOW_DB or DATABASE_URL)\n',
    );
    expect(missing.out()).toBe('');
    const usage = fakeIO(false);
    expect(await run(['score', '--workers', 'x', 'a.csv'], usage)).toBe(2);
    expect(usage.err()).toMatch(/workers must be an integer/);
    const tty = fakeIO(true);
    expect(await run(['score'], tty)).toBe(2); // a terminal on stdin and nothing to score
    expect(tty.err()).toMatch(/^secureflow: nothing to score/);
  });

  it('dashboard --once: JSON or text on the injected stdout', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'secureflow-io-')), 'd.db');
    expect(await run(['score', ...ONE.slice(0, -1), '--db', db], fakeIO(false))).toBe(0); // one flagged, stored
    const json = fakeIO(false);
    expect(await run(['dashboard', '--once', '--format', 'json', '--db', db, '--days', '1'], json)).toBe(0);
    expect(json.err()).toBe('');
    const snapshot = JSON.parse(json.out());
    expect(snapshot).toMatchObject({ days: 1, stats: { total_transactions: 1, anomalies_detected: 1 } });
    expect(snapshot.recent_flagged).toEqual([expect.objectContaining({ amount: 4800, hour: 3, feedback: null })]);
    const text = fakeIO(true);
    expect(await run(['dashboard', '--once', '--db', db], text)).toBe(0);
    expect(text.out()).toMatch(/Recent flagged/);
    expect(text.out()).toContain('4,800');
  });

  it('dashboard without --once refuses unless both injected stdin and stdout are terminals', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'secureflow-io-')), 'd.db');
    expect(await run(['migrate', '--db', db], fakeIO(false))).toBe(0);
    const pipe = fakeIO(false);
    const stdinPiped = fakeIO(true);
    stdinPiped.stdin.isTTY = false;
    const stdoutPiped = fakeIO(true);
    stdoutPiped.stdout.isTTY = false;
    for (const io of [pipe, stdinPiped, stdoutPiped]) {
      expect(await run(['dashboard', '--db', db], io)).toBe(2);
      expect(io.err()).toBe(
        'secureflow: the live dashboard needs a terminal; use --once (and --format json) for scripts and pipes\n',
      );
      expect(io.out()).toBe('');
    }
  });

  it('dashboard draws live on injected terminal streams and quits on q from the injected stdin', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'secureflow-io-')), 'd.db');
    expect(await run(['score', ...ONE.slice(0, -1), '--db', db], fakeIO(false))).toBe(0);
    // Ink routes console output through itself with `new console.Console`, which vitest's console lacks.
    (console as { Console?: unknown }).Console ??= (await import('node:console')).Console;
    // A terminal as Ink uses one: raw mode, a size, ref/unref.
    const stdin = Object.assign(new PassThrough(), {
      isTTY: true,
      setRawMode: () => stdin,
      ref: () => stdin,
      unref: () => stdin,
    });
    const stdout = Object.assign(new PassThrough(), { isTTY: true, columns: 100, rows: 30 });
    const stderr = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
    let drawn = '';
    stdout.on('data', (d: Buffer) => (drawn += d.toString()));
    const exit = run(['dashboard', '--db', db, '--refresh', '1s'], { stdin, stdout, stderr });
    const deadline = Date.now() + 15_000;
    while (!drawn.includes('4,800') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(drawn).toMatch(/Recent flagged/);
    expect(drawn).toContain('4,800');
    stdin.write('q');
    expect(await exit).toBe(0);
  });
});
