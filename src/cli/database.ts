import { existsSync } from 'node:fs';
import type { Store } from '../db/store.js';
import { SecureflowError } from '../core/errors.js';

export interface WithStoreOptions {
  /**
   * For commands that only read or change what is stored: a SQLite file that does not exist is an error
   * naming it, not a new empty database (a typo in --db must not look like "nothing stored").
   */
  mustExist?: boolean;
}

/**
 * Opens the database chosen by --db > SECUREFLOW_DB > DATABASE_URL > the default SQLite file, runs `fn`,
 * and closes it. Connection failures become a clear error naming the database (password masked).
 */
export async function withStore<T>(
  flag: string | undefined,
  fn: (store: Store, display: string) => Promise<T>,
  options: WithStoreOptions = {},
): Promise<T> {
  const { openStore, resolveDatabase } = await import('../db/open-store.js');
  const resolved = resolveDatabase(flag);
  if (
    options.mustExist &&
    resolved.kind === 'sqlite' &&
    resolved.target !== ':memory:' &&
    !existsSync(resolved.target)
  ) {
    throw new SecureflowError(
      'not_found',
      `no database at ${resolved.display}: nothing has been stored there (check --db, SECUREFLOW_DB or DATABASE_URL)`,
    );
  }
  let store: Store;
  try {
    store = await openStore(resolved);
  } catch (e) {
    // The store's errors name the database by its display form (password masked); mask again to be sure.
    throw new SecureflowError('unavailable', (e as Error).message.replaceAll(resolved.target, resolved.display));
  }
  try {
    return await fn(store, resolved.display);
  } finally {
    await store.close();
  }
}
