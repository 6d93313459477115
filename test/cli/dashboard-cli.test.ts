/** `secureflow dashboard` as a user runs it from scripts: --once as text or JSON, and the non-TTY hint. */
import { describe, expect, it } from 'vitest';
import { cli, fixture } from './run-cli.js';
import { spawnDaemon } from './daemon-process.js';
import { createKey, tempDb } from '../daemon/server-helpers.js';

describe('secureflow dashboard', () => {
  const db = tempDb();
  cli(['score', fixture('labelled.csv'), '--db', db]);

  it('--once prints a plain snapshot of the local database, 80 columns, no escapes', () => {
    const r = cli(['dashboard', '--once', '--db', db]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Transactions/);
    expect(r.stdout).toContain('1,100');
    expect(r.stdout).toMatch(/Recent flagged/);
    expect(r.stdout).not.toMatch(/\u001b\[/);
    for (const line of r.stdout.split('\n')) expect([...line].length).toBeLessThanOrEqual(80);
  });

  it('--once --format json gives the data, the same through a daemon', async () => {
    const local = JSON.parse(cli(['dashboard', '--once', '--format', 'json', '--db', db, '--days', '1']).stdout);
    expect(local.stats.total_transactions).toBe(1100);
    expect(local.risk_levels.highest).toBe(local.stats.anomalies_detected);
    expect(local.hourly_distribution).toHaveLength(24);
    const key = await createKey(db, 'viewer');
    const daemon = await spawnDaemon(['--db', db]);
    try {
      const r = cli(['dashboard', '--once', '--format', 'json', '--days', '1', '--remote', daemon.url], {
        env: { SECUREFLOW_API_KEY: key },
      });
      expect(r.code, r.stderr).toBe(0);
      const remote = JSON.parse(r.stdout);
      expect(remote.source).toBe(daemon.url);
      expect(remote.stats).toEqual(local.stats);
      expect(remote.recent_flagged).toEqual(local.recent_flagged);
    } finally {
      await daemon.stop();
    }
  });

  it('without a terminal and without --once, exits 2 with a hint', () => {
    const r = cli(['dashboard', '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs a terminal.*--once/);
  });

  it('rejects a bad --refresh (exit 2) and names an unreachable daemon (exit 6)', () => {
    expect(cli(['dashboard', '--once', '--refresh', 'soon', '--db', db]).stderr).toMatch(/--refresh must be like 2s/);
    const gone = cli(['dashboard', '--once', '--remote', 'http://127.0.0.1:9']);
    expect(gone.code).toBe(6);
    expect(gone.stderr).toMatch(/cannot reach the daemon/);
  });
});
