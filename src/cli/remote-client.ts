import { kindOfStatus, SecureflowError } from '../core/errors.js';
import { redactUrl } from '../db/shared.js';
import { storedLogin } from './logins.js';

/** `--remote URL` > SECUREFLOW_REMOTE; `--api-key` > SECUREFLOW_API_KEY. */
export function remoteTarget(
  flags: { remote?: string; apiKey?: string },
  env: NodeJS.ProcessEnv = process.env,
): { url: string; apiKey: string | null } | null {
  const url = (flags.remote ?? env.SECUREFLOW_REMOTE)?.trim();
  if (!url) return null;
  // Messages show the URL without its password (user:***@): it may hold a front end's basic-auth credentials.
  if (!/^https?:\/\/[^/]+/i.test(url))
    throw new SecureflowError(
      'usage',
      `--remote must be an http:// or https:// URL, got ${JSON.stringify(redactUrl(url))}`,
    );
  if (!URL.canParse(url))
    throw new SecureflowError('usage', `--remote is not a valid URL: ${JSON.stringify(redactUrl(url))}`);
  const apiKey = (flags.apiKey ?? env.SECUREFLOW_API_KEY)?.trim() || null;
  return { url: url.replace(/\/+$/, ''), apiKey: apiKey ?? loginToken(url, env) };
}

/** Without a key: the token `secureflow login` kept for this daemon, unless it has expired (the 401 then says so). */
function loginToken(url: string, env: NodeJS.ProcessEnv): string | null {
  const login = storedLogin(url, env);
  if (!login) return null;
  if (Date.parse(login.expires_at) <= Date.now()) {
    expiredLogins.add(redactUrl(url.replace(/\/+$/, '')));
    return null;
  }
  return login.token;
}

/** Daemons whose stored login has expired: their 401 says to log in again. */
const expiredLogins = new Set<string>();

/**
 * A daemon over HTTP (undici). Errors become SecureflowErrors with the daemon's message; the key and any password
 * in the URL are never shown. Credentials in the URL (a front end with basic auth) go as `Authorization: Basic`,
 * the key then as `X-API-Key`.
 */
export class RemoteClient {
  /** The daemon's URL without credentials: what messages show. */
  readonly url: string;
  private readonly basic: string | null;

  constructor(
    url: string,
    private readonly apiKey: string | null,
  ) {
    const parsed = URL.canParse(url) ? new URL(url) : null;
    if (parsed && (parsed.username || parsed.password)) {
      this.basic = Buffer.from(
        `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`,
      ).toString('base64');
      parsed.username = '';
      parsed.password = '';
      this.url = parsed.href.replace(/\/+$/, '');
    } else {
      this.basic = null;
      this.url = redactUrl(url);
    }
  }

  /** T: the route's answer, from the contract's schemas (daemon/contract/shapes.ts). */
  async request<T>(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    body?: { json?: unknown; csv?: string | Uint8Array },
  ): Promise<T> {
    // Loaded on first use: local runs never pay for it. (Bundled, the CommonJS exports sit on `default`.)
    const undici = (await import('undici')) as typeof import('undici') & { default?: typeof import('undici') };
    const request = undici.request ?? undici.default!.request;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.basic) {
      headers.authorization = `Basic ${this.basic}`;
      if (this.apiKey) headers['x-api-key'] = this.apiKey;
    } else if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let payload: string | Uint8Array | undefined;
    if (body?.json !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    } else if (body?.csv !== undefined) {
      headers['content-type'] = 'text/csv';
      payload = body.csv;
    }
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(`${this.url}${path}`, {
        method,
        headers,
        body: payload,
        headersTimeout: 120_000,
        bodyTimeout: 120_000,
      });
    } catch (e) {
      const err = e as Error & { code?: string };
      throw new SecureflowError('unavailable', `cannot reach the daemon at ${this.url}: ${err.code ?? err.message}`);
    }
    const text = await res.body.text();
    let data: any = null;
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
    if (res.statusCode >= 400) {
      const message = typeof data?.error === 'string' ? data.error : `HTTP ${res.statusCode}`;
      const retry = res.headers['retry-after'];
      const hint =
        res.statusCode === 401 && !this.apiKey && !path.startsWith('/api/auth/')
          ? expiredLogins.has(this.url)
            ? ` (your login has expired: secureflow login --remote ${this.url} --username NAME)`
            : ' (give --api-key or set SECUREFLOW_API_KEY, or secureflow login --remote URL --username NAME)'
          : retry
            ? ` (retry after ${retry} s)`
            : '';
      // The daemon's status read back through ERROR_KINDS: its kind, so the exit code that kind has.
      throw new SecureflowError(kindOfStatus(res.statusCode), `daemon at ${this.url}: ${message}${hint}`, {
        status: res.statusCode,
        ...(data?.details ?? {}),
      });
    }
    if (data === null)
      throw new SecureflowError(
        'internal',
        `daemon at ${this.url} answered ${method} ${path} with something other than JSON`,
      );
    return data as T;
  }
}
