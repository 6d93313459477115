import { isIP } from 'node:net';

/** The daemon's settings and their defaults, in one place. Flags > environment > these. */
export interface ServeOptions {
  host: string;
  port: number;
  /** --db / SECUREFLOW_DB / DATABASE_URL; resolved like the CLI's. */
  db?: string;
  /** A model file; default: the database's active model, else the bundled one. */
  model?: string;
  threshold?: number;
  /** Largest accepted request body, in bytes. */
  bodyLimit: number;
  /** Most transactions in one POST /api/predict-batch. */
  batchLimit: number;
  /** Requests per second per key (per IP without auth); 0 turns rate limiting off. */
  rateLimit: number;
  /** Shared rate-limit counters for every instance. */
  redisUrl?: string;
  /** Prefix of the rate-limit counters in Redis (SECUREFLOW_RATE_LIMIT_NAMESPACE): instances sharing it share limits. */
  rateLimitNamespace: string;
  /** Browser origins allowed to call the API; '*' allows any. */
  corsOrigins: string[];
  /** Serve without API keys, even on a public address. */
  noAuth: boolean;
  logLevel: string;
  /** Seconds a client is told to wait (Retry-After) while the database is unreachable. */
  retryAfterSeconds: number;
  /** How long shutdown may take before the process exits anyway. */
  shutdownTimeoutMs: number;
  /** A request's headers and body must arrive within this (408 and the socket closed otherwise): slow bodies cannot hold sockets. */
  requestTimeoutMs: number;
  /** A request's headers must arrive within this (at most requestTimeoutMs). */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this; above common proxies' idle timeouts (Fly, nginx: 60 s). */
  keepAliveTimeoutMs: number;
  /** Shed load (503 + Retry-After) while the event loop's mean delay is above this; health and metrics still answer. 0 = off. */
  maxEventLoopDelayMs: number;
  /**
   * Which proxies' X-Forwarded-For to believe for the caller's address (per-address failure and rate limits, logs):
   * false (the socket's address), a hop count, or proxy addresses/CIDRs. Fastify's trustProxy.
   */
  trustProxy: false | number | string[];
  /** The window of stored traffic /metrics reports drift over, in days (default 7). */
  driftDays?: number;
  /** JWT_SECRET: signs login tokens. Never logged. Required off loopback once users exist. */
  jwtSecret?: string;
  /** How long a login token lasts (--token-lifetime / SECUREFLOW_TOKEN_LIFETIME; default 12 h). */
  tokenLifetimeSeconds: number;
  /** Login attempts a minute per username (--login-limit / SECUREFLOW_LOGIN_LIMIT). */
  loginLimit: number;
  /** Login attempts a minute per client address (--login-ip-limit / SECUREFLOW_LOGIN_IP_LIMIT). */
  loginIpLimit: number;
}

export const SERVE_DEFAULTS = {
  host: '127.0.0.1',
  port: 5001,
  bodyLimit: 10 * 1024 * 1024,
  batchLimit: 10_000,
  rateLimit: 0,
  rateLimitNamespace: 'secureflow-rl-',
  corsOrigins: ['http://localhost:3000'],
  noAuth: false,
  logLevel: 'info',
  retryAfterSeconds: 5,
  shutdownTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 72_000,
  maxEventLoopDelayMs: 1000,
  trustProxy: false,
  driftDays: 7,
  tokenLifetimeSeconds: 12 * 3600,
  loginLimit: 10,
  loginIpLimit: 30,
} as const satisfies Partial<ServeOptions>;

/** "90s", "30m", "12h", "7d" (or plain seconds) → seconds; null for anything else. */
export function parseDuration(value: string): number | null {
  const m = /^(\d{1,9})\s*(s|m|h|d)?$/i.exec(value.trim());
  if (!m) return null;
  const n = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's').toLowerCase() as 's' | 'm' | 'h' | 'd'];
  return n > 0 ? n : null;
}

/** CORS_ORIGINS="https://a.example, https://b.example" → a list. */
export function parseOrigins(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * --trust-proxy / SECUREFLOW_TRUST_PROXY: "1" (hops), or "10.0.0.0/8,fdaa::/16" (addresses or CIDRs); empty or
 * "false": none. Null for anything else, so the caller can name the flag.
 */
export function parseTrustProxy(value: string | undefined): false | number | string[] | null {
  const text = value?.trim() ?? '';
  if (text === '' || text === 'false' || text === '0') return false;
  if (/^\d+$/.test(text)) return Number(text) <= 10 ? Number(text) : null;
  const parts = text.split(',').map((p) => p.trim());
  return parts.every((p) => isAddressOrCidr(p)) ? parts : null;
}

function isAddressOrCidr(text: string): boolean {
  const [address, bits, extra] = text.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  return bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}
