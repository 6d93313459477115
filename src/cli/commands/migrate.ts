import { withStore } from '../database.js';
import type { IOStreams } from '../io.js';

/** Applies pending migrations (opening a store applies them too; this is the deploy's release step). */
export async function runMigrate(opts: { db?: string }, io: IOStreams): Promise<void> {
  await withStore(opts.db, async (store, display) => {
    // Opening the store already applied what was pending: report those too, or a new database says "up to date".
    const applied = [...store.appliedOnOpen, ...(await store.migrate())];
    io.stdout.write(
      applied.length > 0 ? `applied ${applied.join(', ')} to ${display}\n` : `${display} is up to date\n`,
    );
  });
}
