import { randomBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { SecureflowError } from '../core/errors.js';
import type { Role, UserCredentials } from '../db/store.js';
import type { DaemonState } from './daemon-state.js';

/** The database row holding the secret a loopback daemon generated (JWT_SECRET not set). */
export const STORED_SECRET_NAME = 'jwt_secret';
export const MIN_SECRET_LENGTH = 32;
const ISSUER = 'secureflow';

/** A checked token: whose it is and under which generation it was issued. */
export interface TokenClaims {
  userId: number;
  username: string;
  role: Role;
}

export type TokenCheck =
  | { ok: true; claims: TokenClaims; expiresAt: number }
  | { ok: false; reason: 'invalid' | 'expired' };

/** Three base64url parts separated by dots (the last empty for alg "none"): a JWT, never an API key (sf_...). */
export function looksLikeJwt(credential: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(credential);
}

/** JWT_SECRET's problem, or null when it can sign tokens. The message never shows the value. */
export function jwtSecretProblem(secret: string): string | null {
  return secret.length < MIN_SECRET_LENGTH
    ? `JWT_SECRET is too short: at least ${MIN_SECRET_LENGTH} characters (e.g. \`openssl rand -base64 48\`), got ${secret.length}`
    : null;
}

export interface TokenOptions {
  /** JWT_SECRET; none: a loopback daemon generates one and keeps it in the database, others cannot sign. */
  secret?: string;
  loopback: boolean;
  lifetimeSeconds: number;
  /** Told once when the secret comes from the database (never the secret itself). */
  warn?: (message: string) => void;
  now?: () => number;
}

/**
 * Issues and checks login tokens: HS256 JWTs (jose) carrying the user's id, name, role and token generation.
 * A token is good while its signature, issuer and expiry hold and its user still exists, is enabled and has the
 * generation it was issued under (disabling or a new password moves it on: every older token stops working).
 */
export class TokenService {
  private key: Promise<Uint8Array> | null = null;
  private readonly now: () => number;

  constructor(
    private readonly db: DaemonState,
    private readonly options: TokenOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  get lifetimeSeconds(): number {
    return this.options.lifetimeSeconds;
  }

  /** The signing key: JWT_SECRET, else (loopback only) the database's, generated on first need. */
  signingKey(): Promise<Uint8Array> {
    if (this.options.secret !== undefined) {
      this.key ??= Promise.resolve(new TextEncoder().encode(this.options.secret));
      return this.key;
    }
    if (!this.options.loopback)
      return Promise.reject(
        new SecureflowError('unavailable', 'logins are off: this daemon has no JWT_SECRET (set it and restart)'),
      );
    this.key ??= this.db
      .run((s) => s.keepSecret(STORED_SECRET_NAME, randomBytes(48).toString('base64url')))
      .then((value) => {
        this.options.warn?.(
          'JWT_SECRET is not set: login tokens are signed with a secret generated and kept in the database (set JWT_SECRET to choose it; required off loopback)',
        );
        return new TextEncoder().encode(value);
      });
    // A database outage must not stick: the next call tries again.
    this.key.catch(() => {
      this.key = null;
    });
    return this.key;
  }

  async issue(user: UserCredentials): Promise<{ token: string; expires_at: string }> {
    const key = await this.signingKey();
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + this.options.lifetimeSeconds;
    const token = await new SignJWT({ name: user.username, role: user.role, gen: user.token_generation })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(user.id))
      .setIssuer(ISSUER)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(key);
    return { token, expires_at: new Date(exp * 1000).toISOString() };
  }

  /** Checks a token against its signature, expiry and its user's current row (never throws for a bad token). */
  async check(token: string): Promise<TokenCheck> {
    let key: Uint8Array;
    try {
      key = await this.signingKey();
    } catch (e) {
      if (e instanceof SecureflowError && !this.options.loopback) return { ok: false, reason: 'invalid' };
      throw e; // the database is down: 503, not "bad token"
    }
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        requiredClaims: ['sub', 'exp', 'iat'],
        currentDate: new Date(this.now()),
      }));
    } catch (e) {
      return { ok: false, reason: e instanceof joseErrors.JWTExpired ? 'expired' : 'invalid' };
    }
    const userId = Number(payload.sub);
    if (!Number.isSafeInteger(userId) || userId < 1 || typeof payload.gen !== 'number')
      return { ok: false, reason: 'invalid' };
    const user = await this.db.run((s) => s.getUserById(userId));
    if (!user || user.disabled_at !== null || user.token_generation !== payload.gen)
      return { ok: false, reason: 'invalid' };
    // The role as stored now, not as the token says.
    return {
      ok: true,
      claims: { userId: user.id, username: user.username, role: user.role },
      expiresAt: (payload.exp as number) * 1000,
    };
  }
}
