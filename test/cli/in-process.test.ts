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
const ONE = [
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
  '--no-store',
];

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
});
