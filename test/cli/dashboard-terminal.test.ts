/** `secureflow dashboard` in a real terminal (tmux): keys as a terminal sends them, Escape included. */
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDb } from '../daemon/server-helpers.js';
import { BIN, cli, fixture } from './run-cli.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux)
  console.warn('SKIPPED: tmux is not installed; the dashboard terminal test needs it (apt-get install tmux)');
const session = `sf-dash-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', session, ...args], { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', session);

async function until(what: string, test: (s: string) => boolean, ms = 15_000): Promise<string> {
  const deadline = Date.now() + ms;
  let s = '';
  while (Date.now() < deadline) {
    s = screen();
    if (test(s)) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the dashboard never showed ${what}; the screen was:\n${s}`);
}

describe.skipIf(!hasTmux && !process.env.SECUREFLOW_REQUIRE_TMUX)('secureflow dashboard in a terminal', () => {
  afterAll(() => spawnSync('tmux', ['-L', session, 'kill-server']));

  it('enter opens a flagged transaction, Escape goes back, q quits', async () => {
    const db = tempDb();
    expect(cli(['score', fixture('transactions.csv'), '--db', db, '-q']).code).toBe(0);
    tmux(
      'new-session',
      '-d',
      '-s',
      session,
      '-x',
      '120',
      '-y',
      '40',
      // CI=true as CI runners export it: Ink would draw nothing until exit if the dashboard let it see that.
      `CI=true NO_COLOR=1 ${process.execPath} ${BIN} dashboard --db ${db}; echo "exited $?"; sleep 30`,
    );
    await until('the main view', (s) => s.includes('Recent flagged'));
    tmux('send-keys', '-t', session, 'Enter');
    await until('the detail view', (s) => s.includes('Transaction #'));
    tmux('send-keys', '-t', session, 'Escape');
    await until(
      'the main view again after Escape',
      (s) => s.includes('Recent flagged') && !s.includes('Transaction #'),
    );
    tmux('send-keys', '-t', session, 'q');
    await until('the exit after q', (s) => s.includes('exited 0'));
  }, 40_000);
});
