/**
 * `secureflow users ...`, `login` and `logout` through the built CLI: passwords checked, hashed with a per-user
 * salt and never echoed; the login token kept 0600 in the config folder and used by --remote commands and the
 * dashboard; a password typed at a terminal is not echoed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { freshDb } from './auth-helpers.js';
import { spawnDaemon } from './daemon-process.js';
import { BIN, cli, ROOT } from './run-cli.js';
import { addUser, PASSWORD, SECRET } from './user-helpers.js';

function hashes(db: string): { username: string; password_hash: string }[] {
  const raw = new Database(db, { readonly: true });
  try {
    return raw.prepare('SELECT username, password_hash FROM users ORDER BY id').all() as {
      username: string;
      password_hash: string;
    }[];
  } finally {
    raw.close();
  }
}

describe('secureflow users', () => {
  it('adds users with a salted scrypt hash, refuses bad input clearly, never shows a password', () => {
    const db = freshDb();
    const short = cli(['users', 'add', 'alice', '--role', 'analyst', '--password-stdin', '--db', db], {
      input: 'sh0rt-pw\n',
    });
    expect(short.code).toBe(2);
    expect(short.stderr).toBe('secureflow: the password is too short: at least 12 characters, got 8\n');
    const noTerminal = cli(['users', 'add', 'alice', '--role', 'analyst', '--db', db]);
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.stderr).toMatch(/no terminal to type the password in: pipe it with --password-stdin/);
    const empty = cli(['users', 'add', 'alice', '--role', 'analyst', '--password-stdin', '--db', db]);
    expect([empty.code, empty.stderr]).toEqual([2, 'secureflow: --password-stdin: standard input was empty\n']);
    const role = cli(['users', 'add', 'alice', '--role', 'root', '--password-stdin', '--db', db], { input: PASSWORD });
    expect([role.code, role.stderr]).toEqual([
      2,
      'secureflow: --role must be one of admin, analyst, scorer, viewer, got "root"\n',
    ]);
    const name = cli(['users', 'add', 'key:bot', '--role', 'admin', '--password-stdin', '--db', db], {
      input: PASSWORD,
    });
    expect(name.code).toBe(2);
    expect(name.stderr).toMatch(/username must be 1-64 letters, digits/);

    const added = cli(['users', 'add', 'Alice', '--role', 'analyst', '--password-stdin', '--db', db, '-f', 'json'], {
      input: `${PASSWORD}\n`,
    });
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ id: 1, username: 'alice', role: 'analyst', disabled_at: null });
    addUser(db, 'bob', 'viewer'); // the same password
    const again = cli(['users', 'add', 'ALICE', '--role', 'admin', '--password-stdin', '--db', db], {
      input: PASSWORD,
    });
    expect([again.code, again.stderr]).toEqual([3, 'secureflow: a user named alice already exists\n']);

    const [a, b] = hashes(db);
    expect(a.password_hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a.password_hash.split('$')[4]).not.toBe(b.password_hash.split('$')[4]); // per-user salt
    expect(a.password_hash).not.toBe(b.password_hash);

    const list = cli(['users', 'list', '--db', db, '-f', 'json']);
    expect(JSON.parse(list.stdout).map((u: { username: string; role: string }) => [u.username, u.role])).toEqual([
      ['alice', 'analyst'],
      ['bob', 'viewer'],
    ]);
    const table = cli(['users', 'list', '--db', db, '-f', 'table']);
    expect(table.stdout).toMatch(/^username\s+role\s+created_at/);
    for (const r of [short, noTerminal, added, again, list, table]) {
      expect(r.stdout + r.stderr).not.toContain(PASSWORD);
      expect(r.stdout + r.stderr).not.toContain('scrypt$');
    }
  });

  it('changes a password (the old one stops, a short one is refused) and disables users', () => {
    const db = freshDb();
    addUser(db, 'alice', 'analyst');
    const before = hashes(db)[0].password_hash;
    const short = cli(['users', 'passwd', 'alice', '--password-stdin', '--db', db], { input: 'short\n' });
    expect(short.code).toBe(2);
    expect(hashes(db)[0].password_hash).toBe(before);
    const changed = cli(['users', 'passwd', 'alice', '--password-stdin', '--db', db, '-f', 'text'], {
      input: 'another long password\n',
    });
    expect([changed.code, changed.stdout]).toEqual([
      0,
      expect.stringMatching(/password of alice changed: tokens issued before now no longer work/),
    ]);
    expect(hashes(db)[0].password_hash).not.toBe(before);
    expect(cli(['users', 'passwd', 'nobody', '--password-stdin', '--db', db], { input: PASSWORD }).code).toBe(4);
    const disabled = cli(['users', 'disable', 'Alice', '--db', db, '-f', 'json']);
    expect(disabled.code).toBe(0);
    expect(JSON.parse(disabled.stdout).disabled_at).toMatch(/^\d{4}-/);
    const unknown = cli(['users', 'disable', 'nobody', '--db', db]);
    expect([unknown.code, unknown.stderr]).toEqual([4, 'secureflow: no user named nobody (secureflow users list)\n']);
  });
});

describe('secureflow login and logout', () => {
  it('keeps the token 0600 in the config folder; --remote commands and the dashboard use it; logout forgets it', async () => {
    const db = freshDb();
    addUser(db, 'alice', 'analyst');
    const config = mkdtempSync(join(tmpdir(), 'secureflow-config-'));
    const env = { XDG_CONFIG_HOME: config, SECUREFLOW_API_KEY: '' };
    const d = await spawnDaemon(['--db', db], { JWT_SECRET: SECRET });
    try {
      const wrong = cli(['login', '--remote', d.url, '--username', 'alice', '--password-stdin'], {
        env,
        input: 'not her password\n',
      });
      expect([wrong.code, wrong.stderr]).toEqual([7, `secureflow: daemon at ${d.url}: wrong username or password\n`]);

      const ok = cli(['login', '--remote', `${d.url}/`, '--username', 'Alice', '--password-stdin', '-f', 'text'], {
        env,
        input: `${PASSWORD}\n`,
      });
      expect(ok.code).toBe(0);
      const path = join(config, 'secureflow', 'logins.json');
      expect(ok.stdout).toMatch(
        new RegExp(`^logged in to ${d.url} as alice \\(analyst\\) until \\d{4}-.*; token kept in ${path}\\n$`),
      );
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(statSync(join(config, 'secureflow')).mode & 0o777).toBe(0o700);
      const kept = readFileSync(path, 'utf8');
      expect(kept).not.toContain(PASSWORD);
      expect(JSON.parse(kept).logins[d.url]).toMatchObject({ username: 'alice', role: 'analyst' });

      const score = cli(
        [
          'score',
          '--amount',
          '12',
          '--hour',
          '3',
          '--day-of-week',
          '1',
          '--merchant-category',
          '2',
          '--remote',
          d.url,
          '-f',
          'json',
        ],
        { env },
      );
      expect(score.code).toBe(0);
      const id = JSON.parse(score.stdout).transaction_id as number;
      const verdict = cli(['feedback', String(id), '--incorrect', '--remote', d.url, '-f', 'json'], { env });
      expect(JSON.parse(verdict.stdout)).toMatchObject({ recorded_by: 'alice' });
      const list = cli(['transactions', 'list', '--remote', d.url, '-f', 'json'], { env });
      expect(JSON.parse(list.stdout).total).toBe(1);
      const dash = cli(['dashboard', '--remote', d.url, '--once', '-f', 'json'], { env });
      expect(dash.code).toBe(0);
      expect(JSON.parse(dash.stdout).stats.total_transactions).toBe(1);

      // An expired token is not sent, and the refusal says to log in again.
      const file = JSON.parse(kept);
      file.logins[d.url].expires_at = '2020-01-01T00:00:00.000Z';
      writeFileSync(path, JSON.stringify(file));
      const expired = cli(['transactions', 'list', '--remote', d.url], { env });
      expect(expired.code).toBe(7);
      expect(expired.stderr).toContain(`your login has expired: secureflow login --remote ${d.url} --username NAME`);

      const out = cli(['logout', '--remote', d.url], { env });
      expect([out.code, out.stdout]).toEqual([0, `logged out of ${d.url}\n`]);
      expect(() => statSync(path)).toThrow(); // the last login gone: the file too
      const after = cli(['transactions', 'list', '--remote', d.url], { env });
      expect(after.code).toBe(7);
      expect(after.stderr).toContain('secureflow login --remote URL --username NAME');
      expect(cli(['logout', '--remote', d.url], { env }).stdout).toBe('no login kept for that daemon\n');
    } finally {
      await d.stop();
    }
  }, 60_000);

  it('reads a password typed at a terminal without echoing it', async () => {
    const db = freshDb();
    addUser(db, 'alice', 'viewer');
    const config = mkdtempSync(join(tmpdir(), 'secureflow-config-'));
    const d = await spawnDaemon(['--db', db], { JWT_SECRET: SECRET });
    try {
      // script(1) gives the CLI a real terminal; the typed password arrives on it, as from a keyboard.
      const command = `${process.execPath} ${BIN} login --remote ${d.url} --username alice`;
      const typed = new Promise<{ code: number | null; out: string }>((resolve) => {
        const p = spawn('script', ['-qec', command, '/dev/null'], {
          cwd: ROOT,
          env: { ...process.env, XDG_CONFIG_HOME: config, NO_COLOR: '1' },
        });
        let out = '';
        p.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('password for alice: ') && !out.includes('\u0000sent')) {
            out += '\u0000sent';
            p.stdin.write(`${PASSWORD}\r`);
          }
        });
        p.on('exit', (code) => resolve({ code, out: out.replace('\u0000sent', '') }));
      });
      const r = await typed;
      expect(r.out).toContain('password for alice: ');
      expect(r.out).toMatch(/logged in to .* as alice \(viewer\)/);
      expect(r.out).not.toContain(PASSWORD);
      expect(r.code).toBe(0);
    } finally {
      await d.stop();
    }
  }, 60_000);
});
