import { tx } from './auth-helpers.js';
import { cli } from './run-cli.js';

export const PASSWORD = 'correct horse battery';
/** A JWT_SECRET for daemons under test (48 characters). */
export const SECRET = 'test-secret-0123456789abcdefghijklmnopqrstuvwxyz';

/** `secureflow users add` through the built CLI, the password on stdin. */
export function addUser(db: string, name: string, role: string, password = PASSWORD): void {
  const r = cli(['users', 'add', name, '--role', role, '--password-stdin', '--db', db], { input: `${password}\n` });
  if (r.code !== 0) throw new Error(`users add failed (${r.code}): ${r.stderr}`);
}

export interface Answer {
  status: number;
  body: any;
  headers: Headers;
  ms: number;
}

export async function call(
  url: string,
  method: string,
  path: string,
  opts: { token?: string; json?: unknown } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  const t = performance.now();
  const res = await fetch(`${url}${path}`, {
    method,
    headers,
    body: opts.json === undefined ? undefined : JSON.stringify(opts.json),
  });
  const text = await res.text();
  const ms = performance.now() - t;
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers, ms };
}

export const login = (url: string, username: string, password = PASSWORD) =>
  call(url, 'POST', '/api/auth/login', { json: { username, password } });

/** A user's token (fails the test if the login does). */
export async function tokenOf(url: string, username: string, password = PASSWORD): Promise<string> {
  const r = await login(url, username, password);
  if (r.status !== 200) throw new Error(`login of ${username} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body.token as string;
}

/** The statuses of score, feedback and read requests with this credential (the three things roles grant). */
export async function access(url: string, token: string, transactionId: number): Promise<number[]> {
  return [
    (await call(url, 'POST', '/api/predict?store=false', { token, json: tx })).status,
    (await call(url, 'POST', '/api/feedback', { token, json: { transaction_id: transactionId, feedback: true } }))
      .status,
    (await call(url, 'GET', `/api/transactions/${transactionId}`, { token })).status,
  ];
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const parts = (token: string) => token.split('.');
export const payloadOf = (token: string) => JSON.parse(Buffer.from(parts(token)[1], 'base64url').toString());

/** The token with its payload changed and the original signature kept. */
export function withPayload(token: string, change: Record<string, unknown>): string {
  const [h, , s] = parts(token);
  return [h, b64({ ...payloadOf(token), ...change }), s].join('.');
}

/** The token with one signature character changed. */
export function withBadSignature(token: string): string {
  const [h, p, s] = parts(token);
  return [h, p, (s[0] === 'A' ? 'B' : 'A') + s.slice(1)].join('.');
}

/** The token re-headed as alg "none" with no signature (the classic JWT forgery). */
export function algNone(token: string, change: Record<string, unknown> = {}): string {
  return [b64({ alg: 'none', typ: 'JWT' }), b64({ ...payloadOf(token), ...change }), ''].join('.');
}
