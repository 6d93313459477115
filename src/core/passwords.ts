import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { SecureflowError } from './errors.js';

/**
 * Users' passwords, stored as `scrypt$N$r$p$salt$hash` (base64url): node:crypto's scrypt with a per-user random
 * salt and the cost parameters recorded beside the hash, so they can be raised later without breaking old hashes.
 * N = 2^15, r = 8 (32 MiB, ~50-100 ms a hash): OWASP's scrypt minimum is N = 2^17 with r = 8, p = 1 or an
 * equivalent; 2^15 with these r/p keeps a login under a tenth of a second on a small shared machine.
 */
const N = 2 ** 15;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
const MAX_MEM = 64 * 1024 * 1024;

export const MIN_PASSWORD_LENGTH = 12;
/** Beyond this a password is refused: scrypt's cost grows with its input, and no one types more. */
export const MAX_PASSWORD_LENGTH = 1024;

const USERNAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/;

/** A username as stored: lower-cased; letters, digits and . _ @ - (no `:`, so it never looks like `key:NAME`). */
export function normaliseUsername(name: string): string {
  const lower = name.trim().toLowerCase();
  if (!USERNAME.test(lower))
    throw new SecureflowError(
      'usage',
      `username must be 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit, got ${JSON.stringify(name.slice(0, 80))}`,
      { field: 'username' },
    );
  return lower;
}

/** Refuses passwords that are too short or too long; the message never repeats the password. */
export function checkPassword(password: string): void {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH)
    throw new SecureflowError(
      'usage',
      `the password is too short: at least ${MIN_PASSWORD_LENGTH} characters, got ${length}`,
      { field: 'password', minimum: MIN_PASSWORD_LENGTH },
    );
  if (length > MAX_PASSWORD_LENGTH)
    throw new SecureflowError('usage', `the password is too long: at most ${MAX_PASSWORD_LENGTH} characters`, {
      field: 'password',
    });
}

function derive(password: string, salt: Buffer, n: number, r: number, p: number, bytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, bytes, { N: n, r, p, maxmem: MAX_MEM }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  checkPassword(password);
  const salt = randomBytes(16);
  const hash = await derive(password, salt, N, R, P, KEY_BYTES);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/**
 * A hash that no password matches, with the current parameters: checked when the username is unknown, so that a
 * wrong username costs the same scrypt as a wrong password (random bytes, not the hash of anything).
 */
export const DUMMY_PASSWORD_HASH = `scrypt$${N}$${R}$${P}$${randomBytes(16).toString('base64url')}$${randomBytes(KEY_BYTES).toString('base64url')}`;

/** Whether `password` matches `stored`; false for anything that is not a well-formed scrypt hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash, extra] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash || extra !== undefined) return false;
  const params = [Number(n), Number(r), Number(p)];
  if (!params.every((v) => Number.isInteger(v) && v > 0)) return false;
  const expected = Buffer.from(hash, 'base64url');
  if (expected.length < 16) return false;
  // Over-long input is refused only after the same work, so its answer takes as long as any other.
  const actual = await derive(
    password.slice(0, MAX_PASSWORD_LENGTH * 2),
    Buffer.from(salt, 'base64url'),
    params[0],
    params[1],
    params[2],
    expected.length,
  );
  return timingSafeEqual(actual, expected) && [...password].length <= MAX_PASSWORD_LENGTH;
}
