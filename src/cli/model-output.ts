import { writeFileSync } from 'node:fs';
import { SecureflowError } from '../core/errors.js';
import { serializeModel, type ModelDocument } from '../model/model-file.js';
import { withStore } from './database.js';

/** Writes a model file (train, calibrate): the one serialisation, so the same document gives the same bytes. */
export function writeModelFile(path: string, doc: ModelDocument): void {
  try {
    writeFileSync(path, serializeModel(doc));
  } catch (e) {
    throw new SecureflowError('invalid', `cannot write ${path}: ${(e as Error).message}`);
  }
}

/**
 * Stores a model in the database's registry (`--register`), making it the active one with `activate`.
 * The time is the registry's, not the file's: a model file holds no timestamp.
 */
export async function registerModelDocument(
  doc: ModelDocument,
  rows: number,
  metrics: unknown,
  opts: { db?: string; activate?: boolean },
): Promise<{ id: number; active: boolean }> {
  return withStore(opts.db, (store) =>
    store.registerModel(
      {
        version: doc.id,
        format: `${doc.format}@${doc.formatVersion}`,
        options: doc.options,
        trained_at: new Date().toISOString(),
        rows,
        metrics,
        model: serializeModel(doc),
      },
      Boolean(opts.activate),
    ),
  );
}
