import { createHash } from 'node:crypto';
import { parseKey, ROLE_PERMISSIONS, verifySecret } from '../core/api-keys.js';
import type { Role } from '../db/store.js';
import type { DaemonDatabase } from './database.js';
import { HttpError } from './http-error.js';

export type Permission = 'score' | 'feedback' | 'read' | 'admin';

export interface Principal {
  keyId: number;
  name: string;
  role: Role;
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

interface CacheEntry {
  principal: Principal | null;
  expires: number;
}

/**
 * Checks API keys against their stored scrypt hashes. A check costs ~50 ms of CPU by design, so results
 * (good and bad) are cached by the key's SHA-256 for `ttlMs`: a revoked key stops working within that time.
 * Keys themselves are never kept, logged or echoed.
 */
export class KeyChecker {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly touched = new Map<number, number>();
  private activeKeys: { count: number; expires: number } | null = null;

  constructor(
    private readonly db: DaemonDatabase,
    private readonly ttlMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether any unrevoked key exists (cached briefly): without one, a loopback daemon runs open. */
  async keysExist(): Promise<boolean> {
    const t = this.now();
    if (!this.activeKeys || this.activeKeys.expires <= t) {
      this.activeKeys = { count: await this.db.run((s) => s.countActiveKeys()), expires: t + 5000 };
    }
    return this.activeKeys.count > 0;
  }

  async check(key: string): Promise<Principal> {
    const digest = createHash('sha256').update(key).digest('base64url');
    const t = this.now();
    const hit = this.cache.get(digest);
    let principal: Principal | null;
    if (hit && hit.expires > t) principal = hit.principal;
    else {
      principal = await this.verify(key);
      if (this.cache.size > 10_000) this.cache.clear(); // bounded: a flood of made-up keys cannot grow it
      this.cache.set(digest, { principal, expires: t + this.ttlMs });
    }
    if (!principal) throw new HttpError(401, 'invalid API key', {}, { 'www-authenticate': 'Bearer' });
    this.touch(principal.keyId, t);
    return principal;
  }

  private async verify(key: string): Promise<Principal | null> {
    const parsed = parseKey(key);
    if (!parsed) return null;
    const row = await this.db.run((s) => s.getKey(parsed.id));
    if (!row || row.revoked_at !== null) return null;
    return (await verifySecret(parsed.secret, row.key_hash)) ? { keyId: row.id, name: row.name, role: row.role } : null;
  }

  /** last_used_at, at most once a minute per key, off the request's path. */
  private touch(id: number, t: number): void {
    if ((this.touched.get(id) ?? 0) > t - 60_000) return;
    this.touched.set(id, t);
    this.db.run((s) => s.touchKey(id)).catch(() => {});
  }
}

export function requirePermission(principal: Principal | null, permission: Permission): void {
  if (principal && !ROLE_PERMISSIONS[principal.role].includes(permission)) {
    throw new HttpError(403, `the ${principal.role} role may not ${permission === 'read' ? 'read data' : permission}`, {
      role: principal.role,
      required: permission,
    });
  }
}
