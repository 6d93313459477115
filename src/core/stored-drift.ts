import type { Store } from '../db/store.js';
import { binOf, DriftCounter, referenceBins, type DriftFigure } from '../model/drift.js';
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
 * PSI of the last `days` days of stored traffic against `model`'s training distribution: the database counts the
 * rows into the model's drift bins (Store.driftCounts), so nothing is read row by row. Null when the window is
 * empty. Features count every stored row; the score only rows this model scored.
 */
export async function storedDrift(
  store: Store,
  model: IsolationForestModel,
  days: number,
  now = Date.now(),
): Promise<StoredDrift | null> {
  const bins = referenceBins(model.doc);
  const counts = await store.driftCounts(new Date(now - days * 86_400_000), {
    amountEdges: bins[0].edges,
    scoreEdges: bins[FEATURE_COUNT].edges,
    modelVersion: model.version,
  });
  if (counts.rows === 0) return null;
  const counter = new DriftCounter(bins);
  counts.amount.forEach((n, bin) => {
    counter.addBinned(0, bin, n);
  });
  for (let j = 1; j < FEATURE_COUNT; j++) {
    const name = FEATURES[j] as keyof typeof counts.values;
    for (const [value, n] of counts.values[name]) counter.addBinned(j, binOf(bins[j], value), n);
  }
  counts.score.forEach((n, bin) => {
    counter.addBinned(FEATURE_COUNT, bin, n);
  });
  const features = FEATURES.map((name, j) => ({ name, ...counter.figure(j)! }));
  const score = counter.figure(FEATURE_COUNT);
  return {
    days,
    rows: counts.rows,
    scored_rows: counter.total(FEATURE_COUNT),
    features,
    score,
    drifted: features.some((f) => f.drifted) || Boolean(score?.drifted),
  };
}
