import { readFileSync } from 'node:fs';
import { ModelFormatError, parseModel, type ModelDocument } from '../model/model-file.js';
import { IsolationForestModel } from '../model/model.js';
import { SecureflowError } from './errors.js';

/** Where the bundled default model lives, next to the compiled model code. */
export const DEFAULT_MODEL_URL = new URL('../model/default-model.json', import.meta.url);

/** Reads and checks a model file (the bundled default when `path` is undefined). */
export function readModelText(path?: string): { text: string; doc: ModelDocument; source: string } {
  const source = path ?? 'bundled default model';
  let text: string;
  try {
    text = readFileSync(path ?? DEFAULT_MODEL_URL, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SecureflowError('not_found', `model file not found: ${source}`);
    throw new SecureflowError('model', `cannot read model file ${source}: ${(e as Error).message}`);
  }
  try {
    return { text, doc: parseModel(text), source };
  } catch (e) {
    if (e instanceof ModelFormatError) throw new SecureflowError('model', `${source}: ${e.message}`);
    throw e;
  }
}

export function loadModel(path?: string, threshold?: number): { model: IsolationForestModel; text: string } {
  const { text, doc } = readModelText(path);
  return { model: new IsolationForestModel(doc, threshold), text };
}

/**
 * The model to score with: an explicit file; else the database's active model, when a store is open and
 * has one; else the bundled default.
 */
export async function resolveScoringModel(
  path: string | undefined,
  threshold: number | undefined,
  store: { activeModel(): Promise<{ version: string; model: string } | null> } | null,
): Promise<{ model: IsolationForestModel; text: string; source: string }> {
  if (path === undefined && store) {
    const active = await store.activeModel();
    if (active) {
      try {
        const doc = parseModel(active.model);
        return {
          model: new IsolationForestModel(doc, threshold),
          text: active.model,
          source: `active model ${doc.id} (database)`,
        };
      } catch (e) {
        if (e instanceof ModelFormatError)
          throw new SecureflowError('model', `the database's active model ${active.version}: ${e.message}`);
        throw e;
      }
    }
  }
  const { text, doc, source } = readModelText(path);
  return { model: new IsolationForestModel(doc, threshold), text, source };
}
