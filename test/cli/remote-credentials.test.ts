/** --remote URLs with credentials (user:password@host) through the built CLI: the password is never printed. */
import { describe, expect, it } from 'vitest';
import { createKeyCli, freshDb } from './auth-helpers.js';
import { spawnDaemon } from './daemon-process.js';
import { cli } from './run-cli.js';

const PASSWORD = 'Sup3rS3cretPassw0rd';
const one = ['--amount', '1', '--hour', '1', '--day-of-week', '1', '--merchant-category', '1'];

describe('--remote with credentials in the URL', () => {
  it('never echoes the password: unreachable daemon, malformed URL, wrong scheme, flag or environment', () => {
    const runs = [
      cli(['transactions', 'list', '--remote', `http://analyst:${PASSWORD}@127.0.0.1:9`]),
      cli(['score', ...one, '--remote', `http://analyst:${PASSWORD}@127.0.0.1:9/`]),
      cli(['feedback', '1', '--correct'], {
        env: { SECUREFLOW_REMOTE: `http://analyst:${encodeURIComponent(`${PASSWORD}/@x`)}@127.0.0.1:9` },
      }),
      cli(['transactions', 'list', '--remote', `http://analyst:${PASSWORD}@[not-a-host`]),
      cli(['transactions', 'list', '--remote', `ftp://analyst:${PASSWORD}@127.0.0.1:9`]),
    ];
    expect(runs.map((r) => r.code)).toEqual([6, 6, 6, 2, 2]);
    for (const r of runs) {
      expect(r.stderr).not.toContain(PASSWORD);
      expect(r.stdout).not.toContain(PASSWORD);
    }
    expect(runs[0].stderr).toContain('cannot reach the daemon at http://127.0.0.1:9');
    expect(runs[3].stderr).toMatch(/not a valid URL: "http:\/\/analyst:\*\*\*@\[not-a-host"/);
  });

  it('sends the credentials as basic auth and the key as X-API-Key, so a daemon behind such a front end works', async () => {
    const db = freshDb();
    const { key } = createKeyCli(db, 'analyst');
    const d = await spawnDaemon(['--db', db]);
    try {
      const withCreds = d.url.replace('http://', `http://analyst:${PASSWORD}@`);
      const ok = cli(['score', ...one, '--remote', withCreds, '-f', 'json'], { env: { SECUREFLOW_API_KEY: key } });
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ transaction_id: 1 });
      const refused = cli(['transactions', 'list', '--remote', withCreds], {
        env: { SECUREFLOW_API_KEY: `${key.slice(0, -4)}AAAA` },
      });
      expect(refused.code).toBe(7);
      expect(refused.stderr).toContain(`daemon at ${d.url}: invalid API key`);
      expect(refused.stderr).not.toContain(PASSWORD);
    } finally {
      await d.stop();
    }
  }, 30_000);
});
