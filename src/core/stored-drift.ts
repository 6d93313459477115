import type { Store } from '../db/store.js';
import { DriftCounter, referenceBins, type DriftFigure } from '../model/drift.js';
import { FEATURE_COUNT, FEATURES } from '../model/features.js';
import type { IsolationForestModel } from '../model/model.js';

/** Drift of stored traffic: as DriftReport, but the score only from rows this model scored (null without any). */
export interface StoredDrift {
  days: number;
  rows: number;
  /** Rows in the window that this model scored (its score figure's rows). */
  scored_rows: number;
  features: (DriftFigure & { name: string })[];
  score: DriftFigure | null;
  drifted: boolean;
}

/**
 * PSI of the last `days` days of stored traffic against `model`'s training distribution, read slice by slice
 * (Store.trafficSlices: memory stays flat and a daemon keeps answering). Null when the window is empty. Features
 * count every stored row; the score only the rows this model scored (another model's scores follow another
 * distribution).
 */
export async function storedDrift(
  store: Store,
  model: IsolationForestModel,
  days: number,
  now = Date.now(),
): Promise<StoredDrift | null> {
  const counter = new DriftCounter(referenceBins(model.doc));
  for await (const slice of store.trafficSlices(new Date(now - days * 86_400_000), model.version))
    counter.add(slice.features, slice.anomalyScores, slice.count, slice.scoredBy);
  if (counter.rows === 0) return null;
  const features = FEATURES.map((name, j) => ({ name, ...counter.figure(j)! }));
  const score = counter.figure(FEATURE_COUNT);
  return {
    days,
    rows: counter.rows,
    scored_rows: counter.total(FEATURE_COUNT),
    features,
    score,
    drifted: features.some((f) => f.drifted) || Boolean(score?.drifted),
  };
}
