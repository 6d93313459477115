import { describe, expect, it } from 'vitest';
import { formatKey, hashSecret, isLegacyHash, newKeySecret, parseKey, verifySecret } from '../../src/core/api-keys.js';
import { legacyScryptHash } from '../support/legacy-key.js';

describe('API keys', () => {
  it('stores only a SHA-256 of the 256-bit secret, which verifies the secret and nothing else', async () => {
    const a = await newKeySecret();
    const b = await newKeySecret();
    expect(a.hash).toMatch(/^sha256\$[\w-]{43}$/);
    expect(a.hash).toBe(hashSecret(a.secret));
    expect(a.hash).not.toContain(a.secret);
    expect(a.secret).not.toBe(b.secret);
    expect(isLegacyHash(a.hash)).toBe(false);
    expect(await verifySecret(a.secret, a.hash)).toBe(true);
    expect(await verifySecret(b.secret, a.hash)).toBe(false);
    expect(await verifySecret(a.secret, 'md5$whatever')).toBe(false);
    expect(await verifySecret(a.secret, 'sha256$short')).toBe(false);
  });

  it('still verifies hashes stored with scrypt before', async () => {
    const { secret } = await newKeySecret();
    const legacy = await legacyScryptHash(secret);
    expect(legacy).toMatch(/^scrypt\$32768\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(isLegacyHash(legacy)).toBe(true);
    expect(await verifySecret(secret, legacy)).toBe(true);
    expect(await verifySecret((await newKeySecret()).secret, legacy)).toBe(false);
  });

  it('carries the key id so one hash is checked, and parses only well-formed keys', async () => {
    const { secret } = await newKeySecret();
    const key = formatKey(12, secret);
    expect(parseKey(key)).toEqual({ id: 12, secret });
    expect(parseKey(`${key}x`)).toBeNull();
    expect(parseKey('sf_12_short')).toBeNull();
    expect(parseKey('Bearer something')).toBeNull();
  });
});
