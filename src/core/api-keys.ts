import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { Role } from '../db/store.js';

export const ROLES: readonly Role[] = ['admin', 'analyst', 'scorer', 'viewer'];

/** What each role may do (the daemon checks these; the CLI shows them). */
export const ROLE_PERMISSIONS: Record<Role, readonly string[]> = {
  admin: ['score', 'feedback', 'read', 'admin'],
  analyst: ['score', 'feedback', 'read'],
  scorer: ['score'],
  viewer: ['read'],
};

const KEY_PATTERN = /^sf_(\d+)_([A-Za-z0-9_-]{43})$/;
const MAX_SCRYPT_MEM = 64 * 1024 * 1024; // legacy hashes used N = 2^15, r = 8: 32 MiB

/**
 * The stored form of a secret: `sha256$<digest>`. A key's secret is 256 random bits, so nothing can be guessed
 * from a fast hash of it (as GitHub and Stripe store tokens); a password KDF would only make every check, and
 * every made-up key a caller sends, cost ~100 ms of CPU. The scheme prefix keeps the column self-describing.
 */
export function hashSecret(secret: string): string {
  return `sha256$${createHash('sha256').update(secret).digest('base64url')}`;
}

/** A new secret and the hash to store. The key shown to the user is formatKey(id, secret). */
export async function newKeySecret(): Promise<{ secret: string; hash: string }> {
  const secret = randomBytes(32).toString('base64url');
  return { secret, hash: hashSecret(secret) };
}

/** Keys carry their row id (not secret) so that a key is checked against one hash, not all of them. */
export function formatKey(id: number, secret: string): string {
  return `sf_${id}_${secret}`;
}

export function parseKey(key: string): { id: number; secret: string } | null {
  const m = KEY_PATTERN.exec(key.trim());
  return m ? { id: Number(m[1]), secret: m[2] } : null;
}

/** Hashes written before keys were stored as SHA-256: still accepted (slowly), and replaced on first use. */
export function isLegacyHash(stored: string): boolean {
  return stored.startsWith('scrypt$');
}

/** Whether `secret` matches the stored hash; constant-time comparison in both schemes. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  if (stored.startsWith('sha256$')) return equal(hashSecret(secret), stored);
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await new Promise<Buffer>((resolve, reject) => {
    scrypt(
      secret,
      Buffer.from(salt, 'base64url'),
      expected.length,
      { N: Number(n), r: Number(r), p: Number(p), maxmem: MAX_SCRYPT_MEM },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
