import { FEATURE_COUNT } from './features.js';
import type { Random } from './random.js';

/**
 * Synthetic payment traffic in the image of the original system's generator: normal transactions with
 * its marginals (log-normal amounts around 20, business hours, its weekday, category and type mixes),
 * plus three kinds of anomaly in equal shares: high amounts, odd hours, and an unusual pattern (late-night
 * weekend transfers in category 9 of several hundred).
 */
export interface SyntheticData {
  raw: Float64Array;
  /** 1 = anomaly. */
  labels: Uint8Array;
  rows: number;
}

const HOUR_WEIGHTS: Record<number, number> = {
  8: 50,
  9: 98,
  10: 155,
  11: 214,
  12: 117,
  13: 98,
  14: 102,
  15: 58,
  16: 44,
  17: 31,
  18: 15,
  19: 6,
  20: 8,
  21: 4,
};
const DAY_WEIGHTS = [108, 141, 146, 145, 154, 207, 99];
const CATEGORY_WEIGHTS = [210, 140, 100, 81, 115, 102, 85, 61, 54, 52];
const TYPE_WEIGHTS = [60, 30, 10];

function weighted(rng: Random, values: number[], weights: number[]): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let u = rng.nextFloat() * total;
  for (let i = 0; i < values.length; i++) {
    u -= weights[i];
    if (u < 0) return values[i];
  }
  return values[values.length - 1];
}

const HOURS = Object.keys(HOUR_WEIGHTS).map(Number);
const HOUR_W = HOURS.map((h) => HOUR_WEIGHTS[h]);
const DAYS = [0, 1, 2, 3, 4, 5, 6];
const CATEGORIES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const TYPES = [0, 1, 2];

function normalAmount(rng: Random): number {
  return Math.max(1, Math.round(Math.exp(3 + rng.nextNormal()) * 100) / 100);
}

export function generateTransactions(rows: number, anomalyRate: number, rng: Random): SyntheticData {
  const raw = new Float64Array(rows * FEATURE_COUNT);
  const labels = new Uint8Array(rows);
  const anomalies = Math.round(rows * anomalyRate);
  for (let i = 0; i < rows; i++) {
    const o = i * FEATURE_COUNT;
    // Anomalies are spread evenly through the rows so that any prefix has the same mix.
    const isAnomaly = Math.floor(((i + 1) * anomalies) / rows) > Math.floor((i * anomalies) / rows);
    labels[i] = isAnomaly ? 1 : 0;
    if (!isAnomaly) {
      raw[o] = normalAmount(rng);
      raw[o + 1] = weighted(rng, HOURS, HOUR_W);
      raw[o + 2] = weighted(rng, DAYS, DAY_WEIGHTS);
      raw[o + 3] = weighted(rng, CATEGORIES, CATEGORY_WEIGHTS);
      raw[o + 4] = weighted(rng, TYPES, TYPE_WEIGHTS);
      continue;
    }
    switch (rng.nextInt(3)) {
      case 0: // high amount, any time
        raw[o] = Math.round((1000 + rng.nextFloat() * 4000) * 100) / 100;
        raw[o + 1] = rng.nextInt(24);
        raw[o + 2] = rng.nextInt(7);
        raw[o + 3] = rng.nextInt(10);
        raw[o + 4] = rng.nextInt(3);
        break;
      case 1: // ordinary amount at an odd hour
        raw[o] = normalAmount(rng);
        raw[o + 1] = rng.nextInt(6);
        raw[o + 2] = rng.nextInt(7);
        raw[o + 3] = rng.nextInt(10);
        raw[o + 4] = rng.nextInt(3);
        break;
      default: // unusual pattern: late-night weekend transfer in category 9
        raw[o] = Math.round((300 + rng.nextFloat() * 1200) * 100) / 100;
        raw[o + 1] = [22, 23, 0, 1, 2, 3, 4][rng.nextInt(7)];
        raw[o + 2] = 5 + rng.nextInt(2);
        raw[o + 3] = 9;
        raw[o + 4] = 2;
    }
  }
  return { raw, labels, rows };
}
