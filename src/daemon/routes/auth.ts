import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SecureflowError } from '../../core/errors.js';
import { DUMMY_PASSWORD_HASH, MAX_PASSWORD_LENGTH, verifyPassword } from '../../core/passwords.js';
import type { RouteContext } from '../app.js';
import { presentedKey } from '../auth.js';
import { Semaphore } from '../auth-limits.js';
import { routeSchemas, type ContractTypes } from '../contract/routes.js';
import { schemaCheck } from '../contract/validation.js';
import { badRequest } from '../http-error.js';

const LOGIN_FAILED = 'wrong username or password';
const refused = () => new SecureflowError('auth', LOGIN_FAILED, {}, { headers: { 'www-authenticate': 'Bearer' } });

/** The username as looked up (usernames are stored lower-cased); the body is checked before this runs. */
const usernameOf = (request: FastifyRequest) =>
  String((request.body as { username?: unknown }).username ?? '')
    .trim()
    .toLowerCase()
    .slice(0, 128);

/**
 * POST /api/auth/login and /api/auth/refresh. Every failed login is the same 401 after the same work: an unknown
 * (or disabled) user's password is checked against a dummy hash with the real parameters, so neither the answer
 * nor its time tells which names exist. Attempts are limited per username and per address (the rate-limit
 * plugin's counters: Redis-shared when the daemon has REDIS_URL and --rate-limit, else this instance's).
 */
export function authRoutes(untyped: FastifyInstance, { db, keys, tokens, options }: RouteContext): void {
  const app = untyped.withTypeProvider<ContractTypes>();
  // scrypt costs ~32 MiB and tens of ms of the libuv pool: two at a time, a short queue, 503 beyond it.
  const scrypt = new Semaphore(2, 64);
  const perAddress = untyped.createRateLimit({
    max: options.loginIpLimit,
    timeWindow: 60_000,
    keyGenerator: (req) => `login-ip:${req.ip}`,
  });
  const perUser = untyped.createRateLimit({
    max: options.loginLimit,
    timeWindow: 60_000,
    keyGenerator: (req) => `login-user:${usernameOf(req)}`,
  });

  const limited = async (request: FastifyRequest) => {
    for (const [limit, what] of [
      [perAddress, 'from this address'],
      [perUser, 'for this username'],
    ] as const) {
      const r = await limit(request);
      // isAllowed means "on the allow list" (none here); isExceeded is the limit.
      if (!r.isAllowed && r.isExceeded) {
        const seconds = Math.max(1, r.ttlInSeconds);
        throw new SecureflowError(
          'rate_limited',
          `too many login attempts ${what}: retry in ${seconds} s`,
          { retry_after_seconds: seconds },
          { headers: { 'retry-after': String(seconds) } },
        );
      }
    }
  };

  app.post('/api/auth/login', { schema: routeSchemas.login }, async (request) => {
    const body = request.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw badRequest('body', 'must be a JSON object {username, password}');
    const { username, password } = body as Record<string, unknown>;
    // Never echo the password, nor its type's value: only what is wrong with it.
    if (typeof username !== 'string' || username.trim() === '')
      throw badRequest('username', 'is required: a non-empty string');
    if (typeof password !== 'string' || password === '')
      throw badRequest('password', 'is required: a non-empty string');
    if (password.length > MAX_PASSWORD_LENGTH * 4)
      throw badRequest('password', `is too long: at most ${MAX_PASSWORD_LENGTH} characters`);
    schemaCheck(request);
    await limited(request);

    const user = await db.run((s) => s.getUser(usernameOf(request)));
    const release = await scrypt.acquire();
    if (!release)
      throw new SecureflowError(
        'unavailable',
        'busy checking logins: retry shortly',
        {},
        { headers: { 'retry-after': '1' } },
      );
    let ok: boolean;
    try {
      ok = await verifyPassword(password, user?.password_hash ?? DUMMY_PASSWORD_HASH);
    } finally {
      release();
    }
    if (!user || !ok || user.disabled_at !== null) throw refused();
    const issued = await tokens.issue(user);
    request.log.info({ user: user.username }, 'login');
    return { ...issued, token_type: 'Bearer' as const, username: user.username, role: user.role };
  });

  app.post('/api/auth/refresh', { schema: routeSchemas.refresh }, async (request) => {
    schemaCheck(request);
    const credential = presentedKey(request.headers);
    if (credential === null)
      throw new SecureflowError(
        'auth',
        'a login token is required: Authorization: Bearer TOKEN',
        {},
        { headers: { 'www-authenticate': 'Bearer' } },
      );
    const principal = await keys.check(credential, request.ip);
    if (principal.kind !== 'user')
      throw badRequest('authorization', 'must be a login token (POST /api/auth/login), not an API key');
    const user = await db.run((s) => s.getUserById(principal.id));
    if (!user || user.disabled_at !== null) throw refused();
    const issued = await tokens.issue(user);
    return { ...issued, token_type: 'Bearer' as const, username: user.username, role: user.role };
  });
}
