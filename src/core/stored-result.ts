import type { Store, StoredTransaction } from '../db/store.js';
import { parseModel } from '../model/model-file.js';
import { IsolationForestModel } from '../model/model.js';
import { readModelText } from './model-source.js';
import { explanationOf } from './scored-transaction.js';
import { fromStoredRow, toScoreResult, type ScoreResult } from './scored-views.js';

/**
 * A stored row as a full score result. Its explanation is the stored one; rows stored without one (CSV runs
 * without --explain) are explained again with the model that scored them, when it is still known.
 */
export async function storedResult(store: Store, row: StoredTransaction): Promise<ScoreResult> {
  const scored = fromStoredRow(row);
  if (!scored.explanation) {
    const model = await modelFor(store, row.model_version);
    if (model) {
      const raw = Float64Array.from(Object.values(scored.transaction));
      const phi = new Float64Array(raw.length);
      model.explainRows(raw, 1, phi);
      scored.explanation = explanationOf(model, raw, phi, 0);
    }
  }
  return toScoreResult(scored, { dataSource: row.source, timestamp: row.created_at });
}

const models = new Map<string, IsolationForestModel | null>();

async function modelFor(store: Store, version: string): Promise<IsolationForestModel | null> {
  if (models.has(version)) return models.get(version)!;
  const bundled = readModelText();
  let model: IsolationForestModel | null = null;
  if (bundled.doc.id === version) model = new IsolationForestModel(bundled.doc);
  else {
    const registered = await store.getModel(version);
    model = registered ? new IsolationForestModel(parseModel(registered.model)) : null;
  }
  if (models.size > 16) models.clear();
  models.set(version, model);
  return model;
}
