import { describe, expect, it } from 'vitest';
import {
  checkPassword,
  DUMMY_PASSWORD_HASH,
  hashPassword,
  normaliseUsername,
  verifyPassword,
} from '../../src/core/passwords.js';

describe('passwords', () => {
  it('hashes with scrypt, a fresh salt and the parameters recorded; verifies only the right password', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse battery', a)).toBe(true);
    expect(await verifyPassword('correct horse battery', b)).toBe(true);
    expect(await verifyPassword('correct horse batterY', a)).toBe(false);
    expect(await verifyPassword('', a)).toBe(false);
    // The same text however it is composed (é as one code point or as e + accent).
    const composed = await hashPassword('caf\u00e9 au lait, noir');
    expect(await verifyPassword('cafe\u0301 au lait, noir', composed)).toBe(true);
  });

  it('never matches the dummy hash, nor anything that is not a well-formed scrypt hash', async () => {
    expect(await verifyPassword('correct horse battery', DUMMY_PASSWORD_HASH)).toBe(false);
    const good = await hashPassword('correct horse battery');
    const [, n, r, p, salt, hash] = good.split('$');
    for (const bad of [
      '',
      'sha256$abc',
      `scrypt$${n}$${r}$${p}$${salt}`,
      `scrypt$0$${r}$${p}$${salt}$${hash}`,
      `scrypt$x$${r}$${p}$${salt}$${hash}`,
      `scrypt$${n}$${r}$${p}$${salt}$${hash}$extra`,
      `scrypt$${n}$${r}$${p}$${salt}$AAAA`,
    ])
      expect([bad, await verifyPassword('correct horse battery', bad)]).toEqual([bad, false]);
  });

  it('refuses short and over-long passwords without repeating them', () => {
    expect(() => checkPassword('eleven char')).toThrow('the password is too short: at least 12 characters, got 11');
    expect(() => checkPassword('twelve chars')).not.toThrow();
    expect(() => checkPassword('x'.repeat(1025))).toThrow('the password is too long: at most 1024 characters');
    // Characters, not UTF-16 units: 12 emoji are 12 characters.
    expect(() => checkPassword('😀'.repeat(12))).not.toThrow();
    expect(() => checkPassword('😀'.repeat(6))).toThrow(/got 6$/);
  });

  it('lower-cases usernames and refuses names that could pass for an API key name', () => {
    expect(normaliseUsername(' Alice.Smith@Bank ')).toBe('alice.smith@bank');
    for (const bad of ['', 'key:bot', '-alice', 'a b', 'x'.repeat(65), 'ünï'])
      expect(() => normaliseUsername(bad)).toThrow(/username must be 1-64 letters/);
  });
});
