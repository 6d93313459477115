/**
 * --trust-proxy through the BUILT daemon: behind a proxy (nginx, Fly) every caller arrives from the proxy's address,
 * so per-address limits need X-Forwarded-For; it is believed only from the proxies named, never from anyone else.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKeyCli, freshDb, predict } from './auth-helpers.js';
import { spawnDaemon } from './daemon-process.js';
import { cli } from './run-cli.js';

const madeUp = () => `sf_${1 + Math.floor(Math.random() * 1000)}_${randomBytes(32).toString('base64url')}`;

/** Made-up keys "from" one client until the daemon holds that client back (429 before any lookup). */
async function floodFrom(url: string, forwardedFor: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < 30 && !statuses.includes(429); i++)
    statuses.push((await predict(url, { 'x-api-key': madeUp(), 'x-forwarded-for': forwardedFor })).status);
  return statuses;
}

describe('--trust-proxy', () => {
  it('limits failed keys per client behind a trusted proxy: the flooding client is held back, another is not', async () => {
    const db = freshDb();
    const newKeys = [createKeyCli(db).key, createKeyCli(db).key];
    const d = await spawnDaemon(['--db', db, '--trust-proxy', '127.0.0.1']);
    try {
      // The limit holds a client back for the rest of a one-second window: on a slow machine the window may end
      // between the flood and the probe, so the flood is repeated (a few tries) until the probe lands inside it.
      let heldBack = false;
      for (let attempt = 0; attempt < 5 && !heldBack; attempt++) {
        expect(await floodFrom(d.url, '203.0.113.9')).toContain(429);
        // A key never used before, from the flooding client: held back; from another client behind the proxy: served.
        const [flooder, other] = await Promise.all([
          predict(d.url, { 'x-api-key': newKeys[0], 'x-forwarded-for': '203.0.113.9' }),
          predict(d.url, { 'x-api-key': newKeys[1], 'x-forwarded-for': '198.51.100.7' }),
        ]);
        expect(other.status).toBe(200);
        heldBack = flooder.status === 429;
      }
      expect(heldBack).toBe(true);
    } finally {
      expect(await d.stop()).toBe(0);
    }
  });

  it('believes no X-Forwarded-For by default: a flood cannot dodge the limit by inventing addresses', async () => {
    const db = freshDb();
    createKeyCli(db);
    const d = await spawnDaemon(['--db', db]);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 30 && !statuses.includes(429); i++) {
        statuses.push((await predict(d.url, { 'x-api-key': madeUp(), 'x-forwarded-for': `203.0.113.${i}` })).status);
      }
      // Every made-up key claimed another address; had the header been believed, none would reach the limit.
      expect(statuses).toContain(429);
    } finally {
      expect(await d.stop()).toBe(0);
    }
  });

  it('refuses a bad value naming the flag or variable (exit 2)', () => {
    const flag = cli(['serve', '--port', '0', '--db', freshDb(), '--trust-proxy', 'proxy.example']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toBe(
      'secureflow: --trust-proxy must be a hop count (0..10) or proxy addresses/CIDRs separated by commas, got "proxy.example"\n',
    );
    const env = cli(['serve', '--port', '0', '--db', freshDb()], { env: { SECUREFLOW_TRUST_PROXY: '10.0.0.0/99' } });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('SECUREFLOW_TRUST_PROXY must be');
  });
});
