import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { SecureflowError } from '../core/errors.js';

/**
 * Login tokens kept by `secureflow login`, one per daemon URL, in the user's config folder:
 * $XDG_CONFIG_HOME/secureflow/logins.json, else ~/.config/secureflow/logins.json. The folder is 0700 and the file
 * 0600 (written to a temporary file and renamed, so it is never readable by others, even half-written).
 */
export interface StoredLogin {
  username: string;
  role: string;
  token: string;
  expires_at: string;
}

interface LoginsFile {
  version: 1;
  logins: Record<string, StoredLogin>;
}

export function loginsPath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.config');
  return join(base, 'secureflow', 'logins.json');
}

/** A daemon URL as logins are kept under: without credentials, query or trailing slash. */
export function loginKey(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}

function read(path: string): LoginsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, logins: {} };
    throw new SecureflowError('unavailable', `cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as LoginsFile;
    if (parsed?.version === 1 && parsed.logins && typeof parsed.logins === 'object') return parsed;
  } catch {
    /* below */
  }
  throw new SecureflowError('invalid', `${path} is not a secureflow logins file: remove it and log in again`);
}

function write(path: string, file: LoginsFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600); // whatever the umask
  renameSync(temp, path);
}

export function saveLogin(url: string, login: StoredLogin, env: NodeJS.ProcessEnv = process.env): string {
  const path = loginsPath(env);
  const file = read(path);
  file.logins[loginKey(url)] = login;
  write(path, file);
  return path;
}

/** The stored login for this daemon, if any (expired ones too: the caller says so). */
export function storedLogin(url: string, env: NodeJS.ProcessEnv = process.env): StoredLogin | null {
  return read(loginsPath(env)).logins[loginKey(url)] ?? null;
}

/** Forgets the login for `url` (every login when url is null); the URLs forgotten. */
export function forgetLogins(url: string | null, env: NodeJS.ProcessEnv = process.env): string[] {
  const path = loginsPath(env);
  const file = read(path);
  const gone = url === null ? Object.keys(file.logins) : [loginKey(url)].filter((k) => k in file.logins);
  if (gone.length === 0) return [];
  for (const k of gone) delete file.logins[k];
  if (Object.keys(file.logins).length === 0) rmSync(path, { force: true });
  else write(path, file);
  return gone;
}
