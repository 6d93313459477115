/**
 * Which database to use, and opening it. The backends are imported only when a store is opened, so that a
 * command that never touches the database loads neither better-sqlite3 nor pg.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { describeError, redactUrl, scrubMessage, StoreError } from './shared.js';
import type { Store } from './store.js';

export { StoreError, type StoreErrorKind } from './shared.js';

export interface ResolvedDatabase {
  kind: 'sqlite' | 'postgres';
  /** The URL or file path to open. May hold a password: never print it, print `display`. */
  target: string;
  /** The target with any password replaced by ***, for logs and errors. */
  display: string;
}

export interface OpenOptions {
  /** Postgres only: the schema for every connection's search_path (must exist). */
  schema?: string;
  /** Postgres only: pool size (default 10). */
  poolSize?: number;
  /** Postgres only: connection timeout in ms (default 10 s). */
  connectTimeoutMs?: number;
  /** Postgres only: fail a query unanswered after this many ms (default: wait). */
  queryTimeoutMs?: number;
  /** SQLite only: wait this long for another process's write lock on timers, never blocking (default: block, 10 s). */
  sqliteLockWaitMs?: number;
}

/** `--db` flag > SECUREFLOW_DB > DATABASE_URL > the default SQLite file in the user's data directory. Empty values count as unset. */
export function resolveDatabase(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedDatabase {
  const chosen = [flag, env.SECUREFLOW_DB, env.DATABASE_URL].find((v) => v !== undefined && v.trim() !== '')?.trim();
  if (chosen !== undefined && /^postgres(ql)?:\/\//i.test(chosen)) {
    return { kind: 'postgres', target: chosen, display: redactUrl(chosen) };
  }
  const path = chosen !== undefined ? expandHome(chosen, env) : defaultDatabasePath(env);
  return { kind: 'sqlite', target: path, display: path };
}

/** $XDG_DATA_HOME/secureflow/secureflow.db, else ~/.local/share/secureflow/secureflow.db (XDG: relative values are ignored). */
export function defaultDatabasePath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_DATA_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.local', 'share');
  return join(base, 'secureflow', 'secureflow.db');
}

/** `~/x.db` from an environment variable, where no shell expanded it. */
function expandHome(path: string, env: NodeJS.ProcessEnv): string {
  return path === '~' || path.startsWith('~/') ? join(env.HOME || homedir(), path.slice(1)) : path;
}

/**
 * Opens the resolved database and applies pending migrations. Failures throw a StoreError('unavailable') whose
 * message names the database by `display` and says what failed, e.g.
 * "cannot connect to postgres://app:***@db:5432/prod: connect ECONNREFUSED 10.0.0.1:5432".
 */
export async function openStore(resolved: ResolvedDatabase, options: OpenOptions = {}): Promise<Store> {
  if (resolved.kind === 'postgres') {
    const { PostgresStore } = await import('./postgres/store.js');
    return PostgresStore.open(resolved.target, options); // its errors already name the database by display
  }
  const { SqliteStore } = await import('./sqlite/store.js');
  try {
    if (resolved.target !== ':memory:') mkdirSync(dirname(resolved.target), { recursive: true });
    return await SqliteStore.open(resolved.target, { lockWaitMs: options.sqliteLockWaitMs });
  } catch (e) {
    throw new StoreError(
      e instanceof StoreError ? e.kind : 'unavailable',
      scrubMessage(`cannot open ${resolved.display}: ${describeError(e)}`, resolved.target),
      { cause: e },
    );
  }
}
