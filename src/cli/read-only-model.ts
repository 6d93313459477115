import { existsSync } from 'node:fs';
import { SecureflowError } from '../core/errors.js';
import { resolveScoringModel } from '../core/model-source.js';
import { withStore } from './database.js';
import type { IOStreams } from './io.js';

export interface ReadOnlyModelOptions {
  model?: string;
  threshold?: number;
  db?: string;
  quiet?: boolean;
}

/**
 * The model a run that stores nothing scores with (score --no-store, drift): the same as storing would use,
 * i.e. --model FILE, else the database's active model when a database is in reach (an existing SQLite file, or
 * a Postgres URL that answers), else the bundled one, saying so when a configured database could not be asked.
 * Never creates a database: a SQLite file that is not there means the bundled model.
 */
export async function readOnlyModel(opts: ReadOnlyModelOptions, io: IOStreams): ReturnType<typeof resolveScoringModel> {
  if (opts.model !== undefined) return resolveScoringModel(opts.model, opts.threshold, null);
  const { resolveDatabase } = await import('../db/open-store.js');
  const resolved = resolveDatabase(opts.db);
  if (resolved.kind === 'sqlite' && !existsSync(resolved.target))
    return resolveScoringModel(undefined, opts.threshold, null);
  try {
    return await withStore(opts.db, (store) => resolveScoringModel(undefined, opts.threshold, store), {
      mustExist: true,
    });
  } catch (e) {
    if (!(e instanceof SecureflowError) || e.kind !== 'unavailable') throw e;
    if (!opts.quiet) io.stderr.write(`secureflow: ${e.message}; scoring with the bundled model\n`);
    return resolveScoringModel(undefined, opts.threshold, null);
  }
}
