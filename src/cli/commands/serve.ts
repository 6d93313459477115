import { SecureflowError } from '../../core/errors.js';
import {
  SERVE_DEFAULTS,
  parseDuration,
  parseOrigins,
  parseTrustProxy,
  type ServeOptions,
} from '../../daemon/options.js';
import { jwtSecretProblem } from '../../daemon/tokens.js';
import { serveUntilSignalled } from '../../daemon/server.js';

export interface ServeFlags {
  host?: string;
  port?: number;
  db?: string;
  model?: string;
  threshold?: number;
  bodyLimit?: number;
  batchLimit?: number;
  rateLimit?: number;
  redisUrl?: string;
  corsOrigin?: string[];
  auth: boolean;
  logLevel?: string;
  requestTimeout?: number;
  headersTimeout?: number;
  maxEventLoopDelay?: number;
  driftDays?: number;
  trustProxy?: string;
  tokenLifetime?: string;
  loginLimit?: number;
  loginIpLimit?: number;
}

/** Flags > environment (as on Fly: PORT, HOST, DATABASE_URL, REDIS_URL, CORS_ORIGINS, LOG_LEVEL) > defaults. */
export function serveOptions(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): ServeOptions {
  const envInt = (name: string): number | undefined =>
    env[name] && /^\d+$/.test(env[name]!.trim()) ? Number(env[name]) : undefined;
  return {
    ...SERVE_DEFAULTS,
    host: flags.host ?? (env.HOST?.trim() || SERVE_DEFAULTS.host),
    port: flags.port ?? envInt('PORT') ?? SERVE_DEFAULTS.port,
    db: flags.db,
    model: flags.model,
    threshold: flags.threshold,
    bodyLimit: flags.bodyLimit ?? SERVE_DEFAULTS.bodyLimit,
    batchLimit: flags.batchLimit ?? SERVE_DEFAULTS.batchLimit,
    rateLimit: flags.rateLimit ?? envInt('SECUREFLOW_RATE_LIMIT') ?? SERVE_DEFAULTS.rateLimit,
    redisUrl: flags.redisUrl ?? (env.REDIS_URL?.trim() || undefined),
    rateLimitNamespace: env.SECUREFLOW_RATE_LIMIT_NAMESPACE?.trim() || SERVE_DEFAULTS.rateLimitNamespace,
    corsOrigins: flags.corsOrigin?.length
      ? flags.corsOrigin
      : (parseOrigins(env.CORS_ORIGINS) ?? [...SERVE_DEFAULTS.corsOrigins]),
    noAuth: flags.auth === false,
    logLevel: flags.logLevel ?? (env.LOG_LEVEL?.trim() || SERVE_DEFAULTS.logLevel),
    requestTimeoutMs:
      flags.requestTimeout ?? envInt('SECUREFLOW_REQUEST_TIMEOUT_MS') ?? SERVE_DEFAULTS.requestTimeoutMs,
    headersTimeoutMs:
      flags.headersTimeout ?? envInt('SECUREFLOW_HEADERS_TIMEOUT_MS') ?? SERVE_DEFAULTS.headersTimeoutMs,
    maxEventLoopDelayMs:
      flags.maxEventLoopDelay ?? envInt('SECUREFLOW_MAX_EVENT_LOOP_DELAY_MS') ?? SERVE_DEFAULTS.maxEventLoopDelayMs,
    trustProxy: trustProxyOption(flags.trustProxy, env.SECUREFLOW_TRUST_PROXY),
    driftDays: flags.driftDays ?? envInt('SECUREFLOW_DRIFT_DAYS') ?? SERVE_DEFAULTS.driftDays,
    jwtSecret: jwtSecretOption(env.JWT_SECRET),
    tokenLifetimeSeconds: tokenLifetimeOption(flags.tokenLifetime, env.SECUREFLOW_TOKEN_LIFETIME),
    loginLimit: flags.loginLimit ?? envInt('SECUREFLOW_LOGIN_LIMIT') ?? SERVE_DEFAULTS.loginLimit,
    loginIpLimit: flags.loginIpLimit ?? envInt('SECUREFLOW_LOGIN_IP_LIMIT') ?? SERVE_DEFAULTS.loginIpLimit,
  };
}

/** JWT_SECRET, checked (its value never appears in the message). Empty: not set. */
function jwtSecretOption(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const problem = jwtSecretProblem(value);
  if (problem) throw new SecureflowError('usage', problem);
  return value;
}

function tokenLifetimeOption(flag: string | undefined, env: string | undefined): number {
  const [name, value] = flag !== undefined ? ['--token-lifetime', flag] : ['SECUREFLOW_TOKEN_LIFETIME', env];
  if (value === undefined || value.trim() === '') return SERVE_DEFAULTS.tokenLifetimeSeconds;
  const seconds = parseDuration(value);
  if (seconds === null || seconds > 366 * 86400)
    throw new SecureflowError(
      'usage',
      `${name} must be a duration such as 90s, 30m, 12h or 7d (at most 366d), got ${JSON.stringify(value)}`,
    );
  return seconds;
}

export async function runServe(flags: ServeFlags): Promise<void> {
  // Returns once stopped; the process then exits by itself when the last response has been flushed
  // (exiting at once could cut a large response short). A timer bounds the wait.
  await serveUntilSignalled(serveOptions(flags));
}

function trustProxyOption(flag: string | undefined, env: string | undefined): ServeOptions['trustProxy'] {
  const [name, value] = flag !== undefined ? ['--trust-proxy', flag] : ['SECUREFLOW_TRUST_PROXY', env];
  const parsed = parseTrustProxy(value);
  if (parsed === null) {
    throw new SecureflowError(
      'usage',
      `${name} must be a hop count (0..10) or proxy addresses/CIDRs separated by commas, got ${JSON.stringify(value)}`,
    );
  }
  return parsed;
}
