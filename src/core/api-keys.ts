import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { Role } from '../db/store.js';

export const ROLES: readonly Role[] = ['admin', 'analyst', 'scorer', 'viewer'];

/** What each role may do (the daemon checks these; the CLI shows them). */
export const ROLE_PERMISSIONS: Record<Role, readonly string[]> = {
  admin: ['score', 'feedback', 'read', 'admin'],
  analyst: ['score', 'feedback', 'read'],
  scorer: ['score'],
  viewer: ['read'],
};

// scrypt with N = 2^15: about 50 ms per check here, slow enough to make guessing a stolen hash costly.
const SCRYPT = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const KEY_PATTERN = /^sf_(\d+)_([A-Za-z0-9_-]{43})$/;

function derive(secret: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, 32, SCRYPT, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** A new secret and the salted hash to store. The key shown to the user is formatKey(id, secret). */
export async function newKeySecret(): Promise<{ secret: string; hash: string }> {
  const secret = randomBytes(32).toString('base64url');
  const salt = randomBytes(16);
  const key = await derive(secret, salt);
  return { secret, hash: `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}` };
}

/** Keys carry their row id (not secret) so that a key is checked against one hash, not all of them. */
export function formatKey(id: number, secret: string): string {
  return `sf_${id}_${secret}`;
}

export function parseKey(key: string): { id: number; secret: string } | null {
  const m = KEY_PATTERN.exec(key.trim());
  return m ? { id: Number(m[1]), secret: m[2] } : null;
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await new Promise<Buffer>((resolve, reject) => {
    scrypt(secret, Buffer.from(salt, 'base64url'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
