import { createHash } from 'node:crypto';
import { hashSecret, isLegacyHash, parseKey, ROLE_PERMISSIONS, verifySecret } from '../core/api-keys.js';
import type { Role } from '../db/store.js';
import { FailureLimiter, Semaphore } from './auth-limits.js';
import { SecureflowError } from '../core/errors.js';
import type { DaemonState } from './daemon-state.js';
import { looksLikeJwt, type TokenService } from './tokens.js';

export type Permission = 'score' | 'feedback' | 'read' | 'admin';

/** Who a request comes from: an API key (by its row id) or a logged-in user (by theirs). */
export interface Principal {
  kind: 'key' | 'user';
  id: number;
  name: string;
  role: Role;
}

/** Who a verdict (or any change) is recorded as: the user's name, or `key:NAME` for an API key (usernames have no `:`). */
export function actorName(principal: Principal | null): string | null {
  if (!principal) return null;
  return principal.kind === 'user' ? principal.name : `key:${principal.name}`;
}

/** The key a request carries: `Authorization: Bearer KEY` or `X-API-Key: KEY`. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | null {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const key = headers['x-api-key'];
  return typeof key === 'string' && key.trim() !== '' ? key.trim() : null;
}

const unauthorized = (message = 'invalid API key') =>
  new SecureflowError('auth', message, {}, { headers: { 'www-authenticate': 'Bearer' } });

/**
 * Checks API keys against their stored hashes (SHA-256: one primary-key lookup, microseconds of CPU, the same
 * for an unknown id as for a wrong secret). Good keys are cached for `ttlMs` (5 s), so a key revoked anywhere
 * stops working here within that time. Callers that keep failing are refused (429) before any lookup, so a
 * flood of made-up keys cannot queue work ahead of real ones. Keys themselves are never kept, logged or echoed.
 */
export class KeyChecker {
  private readonly cache = new Map<string, { principal: Principal; expires: number }>();
  /** SHA-256 of keys that passed in the last 10 minutes, until when: exempt from the failure limit. */
  private readonly recentlyGood = new Map<string, number>();
  /**
   * While an address is held back: how often each key was presented (a client retries with its one key; a flood
   * of made-up keys rarely repeats one), and keys that failed, until when (they are not checked again).
   */
  private readonly heldBack = new Map<string, number>();
  private readonly recentlyBad = new Map<string, number>();
  private readonly touched = new Map<number, number>();
  private readonly failures: FailureLimiter;
  // Legacy scrypt hashes cost ~100 ms of the libuv pool each: two at a time, so they cannot starve it.
  private readonly scrypt = new Semaphore(2, 32);
  private everHadKeys = false;
  private keysCheckedAt = -Infinity;

  constructor(
    private readonly db: DaemonState,
    /** Login tokens (JWTs), checked here too: the same cache, failure limit and roles as keys. */
    private readonly tokens: TokenService | null = null,
    private readonly ttlMs = 5000,
    private readonly now: () => number = Date.now,
    failuresPerSecond = 10,
  ) {
    this.failures = new FailureLimiter(failuresPerSecond, 1000, now);
  }

  /**
   * Whether any key or user, revoked/disabled or not, has ever existed (cached 5 s; once true, true for good): a
   * loopback daemon runs open only while this is false, so revoking the last key never opens it.
   */
  async keysEverExisted(): Promise<boolean> {
    const t = this.now();
    if (!this.everHadKeys && this.keysCheckedAt + 5000 <= t) {
      this.everHadKeys = (await this.db.run(async (s) => (await s.countKeysEver()) + (await s.countUsers()))) > 0;
      this.keysCheckedAt = t;
    }
    return this.everHadKeys;
  }

  /** The key's principal, or SecureflowError auth (401: bad key) / rate_limited (429: too many failures from `ip`). */
  async check(key: string, ip: string): Promise<Principal> {
    const digest = createHash('sha256').update(key).digest('base64url');
    const t = this.now();
    const hit = this.cache.get(digest);
    if (hit && hit.expires > t) return this.touch(hit.principal, t);
    // A key that was good lately is checked again even from a held-back address: behind a proxy (Fly, nginx)
    // every caller shares one address, and a flood there must not lock out keys in use.
    const wait = (this.recentlyGood.get(digest) ?? 0) > t ? 0 : this.failures.blockedFor(ip);
    if (wait > 0 && !this.persistent(digest, t)) {
      const seconds = Math.ceil(wait / 1000);
      throw new SecureflowError(
        'rate_limited',
        `too many requests with invalid API keys from this address: retry in ${seconds} s`,
        { retry_after_seconds: seconds },
        { headers: { 'retry-after': String(seconds) } },
      );
    }
    const jwt = looksLikeJwt(key);
    const checked = jwt ? await this.verifyToken(key) : { principal: await this.verify(key), until: Infinity };
    const principal = checked.principal;
    if (!principal) {
      this.recentlyGood.delete(digest);
      if (this.recentlyBad.size > 10_000) this.recentlyBad.clear();
      this.recentlyBad.set(digest, t + 10 * 60_000);
      this.failures.record(ip);
      throw jwt
        ? unauthorized(
            checked.until === -1
              ? 'the login token has expired: log in again (POST /api/auth/login, or secureflow login)'
              : 'invalid or revoked login token',
          )
        : unauthorized();
    }
    // Bounded (only good keys get here, so this is far off).
    if (this.cache.size > 10_000) this.cache.clear();
    if (this.recentlyGood.size > 10_000) this.recentlyGood.clear();
    // A token is never cached past its expiry.
    this.cache.set(digest, { principal, expires: Math.min(t + this.ttlMs, checked.until) });
    this.recentlyGood.set(digest, Math.min(t + 10 * 60_000, checked.until));
    return this.touch(principal, t);
  }

  /**
   * Whether a key presented from a held-back address is checked anyway: the third time the same key comes (a
   * real client retrying; a new key behind the same proxy as a flood was otherwise locked out for as long as the
   * flood won the race for each second's attempts), unless it failed lately. Bounded: one check per distinct key.
   */
  private persistent(digest: string, t: number): boolean {
    if ((this.recentlyBad.get(digest) ?? 0) > t) return false;
    if (this.heldBack.size > 10_000) this.heldBack.clear();
    const seen = (this.heldBack.get(digest) ?? 0) + 1;
    this.heldBack.set(digest, seen);
    return seen >= 3;
  }

  /** A login token's principal and until when it may be cached (-1: expired). */
  private async verifyToken(token: string): Promise<{ principal: Principal | null; until: number }> {
    if (!this.tokens) return { principal: null, until: 0 };
    const result = await this.tokens.check(token);
    if (!result.ok) return { principal: null, until: result.reason === 'expired' ? -1 : 0 };
    const { userId, username, role } = result.claims;
    return { principal: { kind: 'user', id: userId, name: username, role }, until: result.expiresAt };
  }

  private async verify(key: string): Promise<Principal | null> {
    const parsed = parseKey(key);
    if (!parsed) return null;
    const row = await this.db.run((s) => s.getKey(parsed.id));
    if (!row || row.revoked_at !== null) return null;
    const principal: Principal = { kind: 'key', id: row.id, name: row.name, role: row.role };
    if (!isLegacyHash(row.key_hash)) return (await verifySecret(parsed.secret, row.key_hash)) ? principal : null;
    const release = await this.scrypt.acquire();
    if (!release)
      throw new SecureflowError(
        'unavailable',
        'busy checking keys: retry shortly',
        {},
        { headers: { 'retry-after': '1' } },
      );
    let ok: boolean;
    try {
      ok = await verifySecret(parsed.secret, row.key_hash);
    } finally {
      release();
    }
    // Upgrade to the fast hash on first good use; a failure only means the next check is slow again.
    if (ok) this.db.run((s) => s.rehashKey(row.id, row.key_hash, hashSecret(parsed.secret))).catch(() => {});
    return ok ? principal : null;
  }

  /** last_used_at, at most once a minute per key, off the request's path. */
  private touch(principal: Principal, t: number): Principal {
    if (principal.kind !== 'key') return principal;
    const id = principal.id;
    if ((this.touched.get(id) ?? 0) > t - 60_000) return principal;
    this.touched.set(id, t);
    this.db.run((s) => s.touchKey(id)).catch(() => {});
    return principal;
  }
}

/** localhost, 127.x.x.x or [::1], with an optional port: the names a local client uses. */
const LOOPBACK_HOST = /^(?:localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(?::\d{1,5})?$/i;

/** An open loopback daemon answers only requests whose Host is a loopback name (403 otherwise). */
export function checkLoopbackHost(host: string | undefined): void {
  if (host === undefined || LOOPBACK_HOST.test(host)) return;
  throw new SecureflowError(
    'forbidden',
    `this daemon has no API keys or users, so it answers only requests addressed to localhost, 127.0.0.1 or [::1], not ${JSON.stringify(host.slice(0, 100))} (create a key with \`secureflow keys create\` to serve other names)`,
    { field: 'host' },
  );
}

export function requirePermission(principal: Principal | null, permission: Permission): void {
  if (principal && !ROLE_PERMISSIONS[principal.role].includes(permission)) {
    throw new SecureflowError(
      'forbidden',
      `the ${principal.role} role may not ${permission === 'read' ? 'read data' : permission}`,
      {
        role: principal.role,
        required: permission,
      },
    );
  }
}
