/**
 * Users and login tokens through the BUILT CLI and a real listening daemon: roles for users and keys alike,
 * expiry, tampering, revocation by `users disable` and `users passwd`, login timing parity, login rate limits,
 * JWT_SECRET handling, and verdicts that say who gave them (SQLite here; Postgres for revocation and audit).
 */
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { adminPool, pgReachable, schemaUrl } from '../support/postgres.js';
import { createKeyCli, eventually, freshDb, sleep } from './auth-helpers.js';
import { spawnDaemon } from './daemon-process.js';
import { cli } from './run-cli.js';
import {
  access,
  addUser,
  algNone,
  call,
  login,
  PASSWORD,
  SECRET,
  tokenOf,
  withBadSignature,
  withPayload,
} from './user-helpers.js';

const ENV = { JWT_SECRET: SECRET };

/** A stored transaction to give verdicts on (scored through the CLI into `db`). */
function storeOne(db: string): number {
  const r = cli([
    'score',
    '--amount',
    '4800',
    '--hour',
    '3',
    '--day-of-week',
    '6',
    '--merchant-category',
    '7',
    '--db',
    db,
    '-f',
    'json',
  ]);
  if (r.code !== 0 && r.code !== 10) throw new Error(`score failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout).transaction_id as number;
}

describe('logins (built daemon, SQLite)', () => {
  it('gives users exactly their role, as keys get theirs, through the same Bearer header', async () => {
    const db = freshDb();
    const id = storeOne(db);
    for (const role of ['admin', 'analyst', 'scorer', 'viewer']) addUser(db, `${role}-user`, role);
    const keys = Object.fromEntries(
      ['admin', 'analyst', 'scorer', 'viewer'].map((role) => [role, createKeyCli(db, role, `${role}-key`).key]),
    );
    const d = await spawnDaemon(['--db', db], ENV);
    try {
      const expected = {
        admin: [200, 200, 200],
        analyst: [200, 200, 200],
        scorer: [200, 403, 403],
        viewer: [403, 403, 200],
      };
      for (const [role, statuses] of Object.entries(expected)) {
        const token = await tokenOf(d.url, `${role}-user`);
        expect([role, 'user', await access(d.url, token, id)]).toEqual([role, 'user', statuses]);
        expect([role, 'key', await access(d.url, keys[role], id)]).toEqual([role, 'key', statuses]);
      }
      const r = await login(d.url, 'Analyst-User'); // usernames are not case-sensitive
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ token_type: 'Bearer', username: 'analyst-user', role: 'analyst' });
      // Default lifetime: 12 h.
      expect(Date.parse(r.body.expires_at) - Date.now()).toBeGreaterThan(12 * 3600_000 - 60_000);
      expect(Date.parse(r.body.expires_at) - Date.now()).toBeLessThanOrEqual(12 * 3600_000);
      // The API is never open once users exist: no credential is a 401.
      expect((await call(d.url, 'GET', '/api/transactions')).status).toBe(401);
      // A key is not a login token: refresh refuses it.
      expect((await call(d.url, 'POST', '/api/auth/refresh', { token: keys.admin })).status).toBe(400);
      const doc = (await call(d.url, 'GET', '/api/openapi.json')).body;
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/auth/login', '/api/auth/refresh']));
      expect(doc.paths['/api/auth/login'].post.requestBody.content['application/json'].schema.required).toEqual([
        'username',
        'password',
      ]);
    } finally {
      await d.stop();
    }
  }, 90_000);

  it('refuses tokens that expired, were tampered with, forged as alg none or signed with another secret', async () => {
    const db = freshDb();
    addUser(db, 'alice', 'viewer');
    // A daemon with another secret, whose alice (also user 1) signs a foreign token.
    const otherDb = freshDb();
    addUser(otherDb, 'alice', 'admin');
    const other = await spawnDaemon(['--db', otherDb], { JWT_SECRET: `${SECRET}-other` });
    const d = await spawnDaemon(['--db', db, '--token-lifetime', '3s'], ENV);
    try {
      const t0 = Date.now();
      const token = await tokenOf(d.url, 'alice');
      expect((await call(d.url, 'GET', '/api/transactions', { token })).status).toBe(200);
      const forged = [
        withPayload(token, { role: 'admin' }),
        withPayload(token, { sub: '2' }),
        withPayload(token, { exp: Math.floor(Date.now() / 1000) + 86400 }),
        withBadSignature(token),
        algNone(token),
        algNone(token, { role: 'admin' }),
        `${token}x`,
      ];
      for (const f of forged) {
        const r = await call(d.url, 'GET', '/api/transactions', { token: f });
        expect([f.slice(0, 20), r.status]).toEqual([f.slice(0, 20), 401]);
        expect(r.body.error).toBe('invalid or revoked login token');
      }
      const foreign = await tokenOf(other.url, 'alice');
      expect((await call(d.url, 'GET', '/api/transactions', { token: foreign })).status).toBe(401);
      // The refresh gives a token of its own, also 3 s.
      const refreshed = await call(d.url, 'POST', '/api/auth/refresh', { token });
      expect(refreshed.status).toBe(200);
      expect(refreshed.body).toMatchObject({ username: 'alice', role: 'viewer' });
      // Past its lifetime (the check cache never outlives a token), the token is refused and the answer says why.
      await sleep(Math.max(0, t0 + 4200 - Date.now()));
      const late = await call(d.url, 'GET', '/api/transactions', { token });
      expect(late.status).toBe(401);
      expect(late.body.error).toMatch(/login token has expired: log in again/);
      expect((await call(d.url, 'POST', '/api/auth/refresh', { token })).status).toBe(401);
    } finally {
      await d.stop();
      await other.stop();
    }
  }, 60_000);

  it('limits login attempts per username and per address (429 with Retry-After), wrong or right', async () => {
    const db = freshDb();
    addUser(db, 'alice', 'analyst');
    addUser(db, 'bob', 'analyst');
    const d = await spawnDaemon(['--db', db, '--login-limit', '3', '--login-ip-limit', '5'], ENV);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await login(d.url, 'alice', 'not the password')).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
      const held = await login(d.url, 'ALICE'); // the same username, even with the right password
      expect(held.status).toBe(429);
      expect(held.body.error).toMatch(/too many login attempts for this username: retry in \d+ s/);
      expect(Number(held.headers.get('retry-after'))).toBeGreaterThan(0);
      // Another username from the same address: until the address's limit (5 attempts a minute).
      expect((await login(d.url, 'bob')).status).toBe(429); // attempt 6 from this address
      const byAddress = await login(d.url, 'bob');
      expect(byAddress.body.error).toMatch(/from this address/);
    } finally {
      await d.stop();
    }
  }, 60_000);

  it('JWT_SECRET: required off loopback once users exist, checked for length, never logged; generated on loopback', async () => {
    const db = freshDb();
    const key = createKeyCli(db, 'admin').key;
    addUser(db, 'alice', 'admin');
    const refused = cli(['serve', '--db', db, '--host', '0.0.0.0', '--port', '0'], {
      env: { JWT_SECRET: '' },
      timeoutMs: 20_000,
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/user accounts exist, so JWT_SECRET must be set/);
    const short = cli(['serve', '--db', db, '--port', '0'], {
      env: { JWT_SECRET: 'tooshort-s3cret' },
      timeoutMs: 20_000,
    });
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/JWT_SECRET is too short: at least 32 characters/);
    expect(short.stderr).not.toContain('tooshort-s3cret');

    // Set: used, and in no log line, error or answer.
    const d = await spawnDaemon(['--db', db, '--host', '0.0.0.0', '--log-level', 'debug'], ENV);
    try {
      const url = d.url.replace('0.0.0.0', '127.0.0.1');
      const token = await tokenOf(url, 'alice');
      await call(url, 'GET', '/api/transactions', { token });
      await call(url, 'GET', '/api/transactions', { token: withBadSignature(token) });
      await login(url, 'alice', 'wrong password!');
      expect((await call(url, 'GET', '/api/transactions', { token: key })).status).toBe(200);
      const everything = d.logs.join('\n') + d.stderr();
      expect(everything).not.toContain(SECRET);
      expect(everything).not.toContain(PASSWORD);
      expect(everything).not.toContain(token);
    } finally {
      await d.stop();
    }

    // Loopback without it: generated once, kept in the database (the same after a restart), warned about, never logged.
    const first = await spawnDaemon(['--db', db], { JWT_SECRET: '' });
    let token: string;
    try {
      expect(
        first.logs.some((l) => /JWT_SECRET is not set: login tokens are signed with a secret generated/.test(l)),
      ).toBe(true);
      token = await tokenOf(first.url, 'alice');
    } finally {
      await first.stop();
    }
    const raw = new Database(db, { readonly: true });
    const stored = raw.prepare("SELECT value FROM daemon_secrets WHERE name = 'jwt_secret'").pluck().get() as string;
    raw.close();
    expect(stored.length).toBeGreaterThanOrEqual(48);
    const second = await spawnDaemon(['--db', db], { JWT_SECRET: '' });
    try {
      expect((await call(second.url, 'GET', '/api/transactions', { token })).status).toBe(200);
      expect(first.logs.join('\n') + first.stderr() + second.logs.join('\n')).not.toContain(stored);
    } finally {
      await second.stop();
    }
  }, 90_000);

  it('a loopback daemon with only a user (no keys, ever) is not open', async () => {
    const db = freshDb();
    addUser(db, 'alice', 'viewer');
    const d = await spawnDaemon(['--db', db]);
    try {
      expect((await call(d.url, 'GET', '/api/transactions')).status).toBe(401);
      expect(d.logs.some((l) => /the API is open/.test(l))).toBe(false);
      cli(['users', 'disable', 'alice', '--db', db]);
      await sleep(5200); // past the 5 s cache of whether credentials exist
      expect((await call(d.url, 'GET', '/api/transactions')).status).toBe(401); // disabling never opens it
    } finally {
      await d.stop();
    }
  }, 30_000);
});

const admin = adminPool();
const reachable = await pgReachable(admin);
const schemas: string[] = [];
afterAll(async () => {
  if (reachable) for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await admin.end();
});
const skipPg = !reachable && process.env.SECUREFLOW_REQUIRE_POSTGRES !== '1';

for (const backend of ['sqlite', 'postgres'] as const) {
  describe.skipIf(backend === 'postgres' && skipPg)(
    `revocation and the audit of verdicts (built daemon, ${backend})`,
    () => {
      async function database(): Promise<string> {
        if (backend === 'sqlite') return freshDb();
        const schema = `sf_users_${randomBytes(5).toString('hex')}`;
        schemas.push(schema);
        await admin.query(`CREATE SCHEMA ${schema}`);
        return schemaUrl(schema);
      }

      it('users disable and users passwd revoke the tokens already given, within seconds', async () => {
        const db = await database();
        addUser(db, 'alice', 'analyst');
        addUser(db, 'bob', 'analyst');
        const d = await spawnDaemon(['--db', db], ENV);
        try {
          const alice = await tokenOf(d.url, 'alice');
          const bob = await tokenOf(d.url, 'bob');
          const read = (token: string) => call(d.url, 'GET', '/api/transactions', { token }).then((r) => r.status);
          expect([await read(alice), await read(bob)]).toEqual([200, 200]);

          const passwd = cli(['users', 'passwd', 'alice', '--password-stdin', '--db', db], {
            input: 'a new passphrase for alice\n',
          });
          expect(passwd.code).toBe(0);
          expect(passwd.stdout + passwd.stderr).not.toContain('a new passphrase');
          expect(await eventually(async () => (await read(alice)) === 401, 8000)).toBe(true);
          expect((await login(d.url, 'alice')).status).toBe(401); // the old password
          const renewed = await tokenOf(d.url, 'alice', 'a new passphrase for alice');
          expect(await read(renewed)).toBe(200);

          expect(cli(['users', 'disable', 'bob', '--db', db]).code).toBe(0);
          expect(await eventually(async () => (await read(bob)) === 401, 8000)).toBe(true);
          expect((await login(d.url, 'bob')).status).toBe(401);
          expect((await call(d.url, 'POST', '/api/auth/refresh', { token: bob })).status).toBe(401);
          expect(await read(renewed)).toBe(200); // others are untouched
        } finally {
          await d.stop();
        }
      }, 60_000);

      it('records who gave each verdict (user, key, local CLI) and keeps the verdicts they replaced', async () => {
        const db = await database();
        const id = storeOne(db);
        addUser(db, 'alice', 'analyst');
        const { key } = createKeyCli(db, 'analyst', 'review-bot');
        const d = await spawnDaemon(['--db', db], ENV);
        try {
          const token = await tokenOf(d.url, 'alice');
          const first = await call(d.url, 'POST', '/api/feedback', {
            token,
            json: { transaction_id: id, feedback: true, comments: 'card used abroad' },
          });
          expect(first.body).toMatchObject({ message: 'feedback recorded', recorded_by: 'alice', previous: null });
          const second = await call(d.url, 'POST', '/api/feedback', {
            token: key,
            json: { transaction_id: id, feedback: false },
          });
          expect(second.body).toMatchObject({
            message: 'feedback updated',
            recorded_by: 'key:review-bot',
            previous: { feedback: true, notes: 'card used abroad', recorded_by: 'alice' },
          });
          const local = cli([
            'feedback',
            String(id),
            '--correct',
            '--notes',
            'bank confirmed',
            '--db',
            db,
            '-f',
            'json',
          ]);
          expect(local.code).toBe(0);
          const osUser = JSON.parse(local.stdout).recorded_by as string;
          expect(osUser).toBeTruthy();

          const detail = await call(d.url, 'GET', `/api/transactions/${id}`, { token });
          expect(detail.body.feedback).toMatchObject({
            is_correct: true,
            notes: 'bank confirmed',
            recorded_by: osUser,
          });
          expect(detail.body.feedback_history).toMatchObject([
            { is_correct: true, notes: 'card used abroad', recorded_by: 'alice' },
            { is_correct: false, notes: null, recorded_by: 'key:review-bot' },
          ]);
          const shown = cli(['transactions', 'show', String(id), '--db', db, '-f', 'text']);
          expect(shown.stdout).toContain(`Feedback: correct — bank confirmed (`);
          expect(shown.stdout).toMatch(new RegExp(`by ${osUser}\\)`));
          expect(shown.stdout).toMatch(/before: incorrect \(.* by key:review-bot, replaced /);
          expect(shown.stdout).toMatch(/before: correct — card used abroad \(.* by alice, replaced /);
          // The same through --remote with alice's token (as `secureflow login` keeps it).
          const remote = cli(['transactions', 'show', String(id), '--remote', d.url, '-f', 'json'], {
            env: { SECUREFLOW_API_KEY: token },
          });
          expect(JSON.parse(remote.stdout)).toMatchObject({
            feedback: { recorded_by: osUser },
            feedback_history: [{ recorded_by: 'alice' }, { recorded_by: 'key:review-bot' }],
          });
        } finally {
          await d.stop();
        }
      }, 60_000);
    },
  );
}
