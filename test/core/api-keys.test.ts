import { describe, expect, it } from 'vitest';
import { formatKey, newKeySecret, parseKey, verifySecret } from '../../src/core/api-keys.js';

describe('API keys', () => {
  it('stores only a salted scrypt hash that verifies the secret and nothing else', async () => {
    const a = await newKeySecret();
    const b = await newKeySecret();
    expect(a.hash).toMatch(/^scrypt\$32768\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(a.hash).not.toContain(a.secret);
    expect(a.secret).not.toBe(b.secret);
    expect(await verifySecret(a.secret, a.hash)).toBe(true);
    expect(await verifySecret(b.secret, a.hash)).toBe(false);
    expect(await verifySecret(a.secret, 'md5$whatever')).toBe(false);
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
