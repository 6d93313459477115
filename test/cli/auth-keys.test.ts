/**
 * Keys through the BUILT CLI and daemon: revoking the last key locks a loopback daemon (never opens it), a
 * revoked key stops within seconds, an open loopback daemon refuses foreign Host names (DNS rebinding), and
 * keys stored with scrypt before keep working and are upgraded to SHA-256 on first use.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { formatKey } from '../../src/core/api-keys.js';
import { legacyScryptHash } from '../support/legacy-key.js';
import { createKeyCli, eventually, freshDb, predict, sleep } from './auth-helpers.js';
import { spawnDaemon } from './daemon-process.js';
import { rawPredict } from './key-flood.js';
import { cli } from './run-cli.js';
import { adminPool, pgReachable, schemaUrl } from '../support/postgres.js';

const admin = adminPool();
const reachable = await pgReachable(admin);
const schemas: string[] = [];
afterAll(async () => {
  if (reachable) for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await admin.end();
});
async function pgDb(): Promise<{ db: string; schema: string }> {
  const schema = `sf_keys_${randomBytes(5).toString('hex')}`;
  schemas.push(schema);
  await admin.query(`CREATE SCHEMA ${schema}`);
  return {
    db: schemaUrl(schema),
    schema,
  };
}
const needPg = !reachable && process.env.SECUREFLOW_REQUIRE_POSTGRES !== '1';

describe.skipIf(needPg)('revoking keys (built CLI and daemon, Postgres)', () => {
  it('revoking the last key locks a loopback daemon: keyless and revoked requests get 401 within ~5 s, never 200', async () => {
    const { db } = await pgDb();
    const { id, key } = createKeyCli(db);
    const list = cli(['keys', 'list', '--db', db, '--format', 'json']);
    expect(JSON.parse(list.stdout)).toMatchObject([{ id, revoked_at: null }]);
    const d = await spawnDaemon(['--db', db]);
    try {
      expect((await predict(d.url, { authorization: `Bearer ${key}` })).status).toBe(200);
      expect((await predict(d.url)).status).toBe(401);
      const revoked = cli(['keys', 'revoke', String(id), '--db', db]);
      expect(revoked.code).toBe(0);
      expect(JSON.parse(revoked.stdout)).toMatchObject({ id, revoked_at: expect.any(String) });
      const started = Date.now();
      // For 8 s (past every cache): keyless never gets in, and the revoked key is refused within ~5 s.
      let revokedRefusedAfter: number | null = null;
      while (Date.now() - started < 8000) {
        expect((await predict(d.url)).status).toBe(401);
        const withKey = (await predict(d.url, { authorization: `Bearer ${key}` })).status;
        if (withKey === 401 && revokedRefusedAfter === null) revokedRefusedAfter = Date.now() - started;
        if (revokedRefusedAfter !== null) expect(withKey).toBe(401);
        await sleep(250);
      }
      console.log(`revoked key refused ${revokedRefusedAfter} ms after \`keys revoke\``);
      expect(revokedRefusedAfter).not.toBeNull();
      expect(revokedRefusedAfter!).toBeLessThan(6500);
      // A restart does not open it either, and says why.
      await d.stop();
      const again = await spawnDaemon(['--db', db]);
      try {
        expect((await predict(again.url)).status).toBe(401);
        expect(again.logs.some((l) => l.includes('every API key is revoked'))).toBe(true);
        expect(again.logs.some((l) => l.includes('the API is open'))).toBe(false);
      } finally {
        await again.stop();
      }
      expect(cli(['keys', 'revoke', '999999', '--db', db]).code).toBe(4);
    } finally {
      await d.stop();
    }
  }, 60_000);

  it('accepts a key stored with scrypt before, and stores it as SHA-256 after its first use', async () => {
    const { db, schema } = await pgDb();
    createKeyCli(db, 'viewer', 'makes the tables'); // the CLI creates the schema's tables
    const secret = randomBytes(32).toString('base64url');
    const { rows } = await admin.query(
      `INSERT INTO ${schema}.api_keys (name, role, key_hash, created_at) VALUES ('legacy', 'scorer', $1, now()) RETURNING id`,
      [await legacyScryptHash(secret)],
    );
    const key = formatKey(rows[0].id, secret);
    const d = await spawnDaemon(['--db', db]);
    try {
      expect((await predict(d.url, { authorization: `Bearer ${key}` })).status).toBe(200);
      const stored = async () =>
        (await admin.query(`SELECT key_hash FROM ${schema}.api_keys WHERE id = $1`, [rows[0].id])).rows[0]
          .key_hash as string;
      expect(await eventually(async () => (await stored()).startsWith('sha256$'), 5000)).toBe(true);
      expect((await predict(d.url, { authorization: `Bearer ${key}` })).status).toBe(200);
      expect(
        (
          await predict(d.url, {
            authorization: `Bearer ${formatKey(rows[0].id, randomBytes(32).toString('base64url'))}`,
          })
        ).status,
      ).toBe(401);
    } finally {
      await d.stop();
    }
  }, 60_000);
});

describe('an open loopback daemon (no key ever created)', () => {
  it('answers only requests addressed to a loopback name: other Host names get 403 saying why', async () => {
    const d = await spawnDaemon(['--db', freshDb()]);
    try {
      const port = new URL(d.url).port;
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, 'localhost', `[::1]:${port}`]) {
        expect((await rawPredict(d.url, { host })).status, host).toBe(200);
      }
      for (const host of [
        'evil.example',
        `evil.example:${port}`,
        `localhost.evil.example:${port}`,
        `127.0.0.1.nip.io:${port}`,
      ]) {
        const r = await rawPredict(d.url, { host });
        expect(r.status, host).toBe(403);
        expect(JSON.parse(r.body).error).toMatch(/no API keys.*localhost/);
      }
    } finally {
      await d.stop();
    }
  }, 30_000);
});
