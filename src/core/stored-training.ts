import { createHash } from 'node:crypto';
import type { Store } from '../db/store.js';
import { FEATURE_COUNT } from '../model/features.js';

/** The stored transactions to train on (`train --from-db`): every row of the window but the confirmed fraud. */
export interface StoredTraining {
  /** Row-major raw features of the rows used, FEATURES order, in id order (as readRows gives a file's rows). */
  raw: Float64Array;
  rows: number;
  /** Rows of the window left out: an analyst confirmed them as fraud. */
  leftOut: number;
  /** The first and last ids used (null when no row was). */
  firstId: number | null;
  lastId: number | null;
  /** SHA-256 (hex) over the rows used in id order, a line each: "id,amount,hour,day_of_week,merchant_category,transaction_type\n". */
  sha256: string;
}

/**
 * Reads the window's stored transactions page by page (Store.trainingPages: each page one short query in id
 * order), keeping the features of every row not confirmed as fraud in one growing Float64Array (40 bytes a row,
 * as training from files keeps them: the forest scores every training row for its threshold and distribution,
 * so it needs them all, not a sample), and hashing them as they go.
 */
export async function readStoredTraining(
  store: Store,
  query: { since?: Date; untilId?: number },
): Promise<StoredTraining> {
  let raw = new Float64Array(1024 * FEATURE_COUNT);
  let rows = 0;
  let leftOut = 0;
  let firstId: number | null = null;
  let lastId: number | null = null;
  const hash = createHash('sha256');
  for await (const page of store.trainingPages(query)) {
    let lines = '';
    for (let r = 0; r < page.count; r++) {
      if (page.confirmedFraud[r] === 1) {
        leftOut++;
        continue;
      }
      if ((rows + 1) * FEATURE_COUNT > raw.length) {
        const bigger = new Float64Array(raw.length * 2);
        bigger.set(raw);
        raw = bigger;
      }
      const id = page.ids[r];
      let line = String(id);
      for (let j = 0; j < FEATURE_COUNT; j++) {
        const v = page.features[r * FEATURE_COUNT + j];
        raw[rows * FEATURE_COUNT + j] = v;
        line += `,${v}`;
      }
      lines += `${line}\n`;
      firstId ??= id;
      lastId = id;
      rows++;
    }
    hash.update(lines);
  }
  return { raw: raw.subarray(0, rows * FEATURE_COUNT), rows, leftOut, firstId, lastId, sha256: hash.digest('hex') };
}
