import { randomBytes, scrypt } from 'node:crypto';

/** A key hash as versions before SHA-256 stored it (scrypt, N = 2^15, r = 8, p = 1, 16-byte salt): for upgrade tests. */
export function legacyScryptHash(secret: string): Promise<string> {
  const salt = randomBytes(16);
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(`scrypt$32768$8$1$${salt.toString('base64url')}$${key.toString('base64url')}`),
    ),
  );
}
