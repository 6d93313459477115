import { existsSync } from 'node:fs';
import { SecureflowError } from '../core/errors.js';
import { resolveScoringModel } from '../core/model-source.js';
import type { RuleDefinition } from '../core/rules/apply-rules.js';
import { enabledRules } from '../core/rules/stored-rules.js';
import { withStore } from './database.js';
import type { IOStreams } from './io.js';

export interface ReadOnlyModelOptions {
  model?: string;
  threshold?: number;
  db?: string;
  quiet?: boolean;
}

type ScoringModel = Awaited<ReturnType<typeof resolveScoringModel>>;

/**
 * The model a run that stores nothing scores with (score --no-store, drift): the same as storing would use,
 * i.e. --model FILE, else the database's active model when a database is in reach (an existing SQLite file, or
 * a Postgres URL that answers), else the bundled one, saying so when a configured database could not be asked.
 * Never creates a database: a SQLite file that is not there means the bundled model.
 */
export async function readOnlyModel(opts: ReadOnlyModelOptions, io: IOStreams): Promise<ScoringModel> {
  const { model } = await readOnlyScoring(opts, io, { rules: false });
  return model;
}

/**
 * The model and the enabled rules a run that stores nothing scores with (score --no-store): the model as
 * readOnlyModel chooses it, and the rules of the same database in reach (none without one), so that a run gives
 * the same decisions with --no-store as it would storing. --model FILE chooses the model only: the rules still
 * come from the database in reach, as they do when storing.
 */
export async function readOnlyScoring(
  opts: ReadOnlyModelOptions,
  io: IOStreams,
  want: { rules: boolean } = { rules: true },
): Promise<{ model: ScoringModel; rules: RuleDefinition[] }> {
  const fallback = async () => ({ model: await resolveScoringModel(opts.model, opts.threshold, null), rules: [] });
  if (opts.model !== undefined && !want.rules) return fallback();
  const { resolveDatabase } = await import('../db/open-store.js');
  const resolved = resolveDatabase(opts.db);
  if (resolved.kind === 'sqlite' && !existsSync(resolved.target)) return fallback();
  try {
    return await withStore(
      opts.db,
      async (store) => ({
        model: await resolveScoringModel(opts.model, opts.threshold, store),
        rules: want.rules ? await enabledRules(store) : [],
      }),
      { mustExist: true },
    );
  } catch (e) {
    if (!(e instanceof SecureflowError) || e.kind !== 'unavailable') throw e;
    if (!opts.quiet)
      io.stderr.write(
        `secureflow: ${e.message}; scoring with ${opts.model === undefined ? 'the bundled model and ' : ''}no rules\n`,
      );
    return fallback();
  }
}
