import { keepsIntegers, type FeatureSpec } from './features.js';

/** What the forest needs to know of a column: whether its values stay integers (see keepsIntegers). */
export type ColumnKind = Pick<FeatureSpec, 'kind' | 'transform'>;
import type { Random } from './random.js';

/**
 * One isolation tree in pre-order: node i is a leaf when feature[i] < 0; an internal node's left
 * child (x < threshold) follows it, its right child (x >= threshold) follows the left subtree.
 * `size` is the number of training samples that reached the node (the cover TreeSHAP needs).
 */
export interface CompactTree {
  feature: number[];
  threshold: number[];
  size: number[];
}

export function heightLimit(sampleSize: number): number {
  return Math.ceil(Math.log2(Math.max(sampleSize, 2)));
}

/**
 * Grows `trees` isolation trees on `data` (row-major, already encoded, `rows` x specs.length columns),
 * as Liu et al. and scikit-learn do: a subsample without replacement per tree, a random non-constant
 * feature per node, a threshold uniform between the node's min and max, and a height limit.
 * `weights[c]` (an integer in 1..128, 1 for every column if absent): column c is drawn that many times as often;
 * with all weights 1 the draws, and so the trees, are the same as without weights.
 */
export function growForest(
  data: Float64Array,
  rows: number,
  specs: readonly ColumnKind[],
  trees: number,
  sampleSize: number,
  rng: Random,
  weights: readonly number[] = specs.map(() => 1),
): CompactTree[] {
  if (weights.length !== specs.length || !weights.every((w) => Number.isInteger(w) && w >= 1 && w <= 128))
    throw new RangeError('column weights must be one integer in 1..128 per column');
  // Each column index `weight` times: a node shuffles this list and splits on the first non-constant column.
  const draws = Int32Array.from(weights.flatMap((w, c) => new Array<number>(w).fill(c)));
  const psi = Math.min(sampleSize, rows);
  const limit = heightLimit(psi);
  const pool = new Int32Array(rows);
  for (let i = 0; i < rows; i++) pool[i] = i;
  const sample = new Int32Array(psi);
  const out: CompactTree[] = [];
  for (let t = 0; t < trees; t++) {
    // Partial Fisher-Yates: the pool stays a permutation, so reusing it across trees is still uniform.
    for (let i = 0; i < psi; i++) {
      const j = i + rng.nextInt(rows - i);
      const tmp = pool[i];
      pool[i] = pool[j];
      pool[j] = tmp;
      sample[i] = pool[i];
    }
    const tree: CompactTree = { feature: [], threshold: [], size: [] };
    grow(tree, data, specs, draws, sample, 0, psi, 0, limit, rng);
    out.push(tree);
  }
  return out;
}

function grow(
  tree: CompactTree,
  data: Float64Array,
  specs: readonly ColumnKind[],
  draws: Int32Array,
  idx: Int32Array,
  start: number,
  end: number,
  depth: number,
  limit: number,
  rng: Random,
): void {
  const n = end - start;
  const m = specs.length;
  const at = tree.feature.length;
  tree.feature.push(-1);
  tree.threshold.push(0);
  tree.size.push(n);
  if (depth >= limit || n <= 1) return;

  // Features in (weighted) random order; the first that is not constant in this node is split (scikit-learn
  // skips constant features the same way). A node where every feature is constant stays a leaf.
  const order = Array.from(draws);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const tried = new Uint8Array(m);
  for (const f of order) {
    if (tried[f]) continue; // a weighted column's later copies: already found constant here
    tried[f] = 1;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = start; i < end; i++) {
      const v = data[idx[i] * m + f];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (!(hi > lo)) continue;
    let threshold = hi - rng.nextFloat() * (hi - lo); // in (lo, hi]: both sides non-empty
    if (keepsIntegers(specs[f])) {
      // Any cut between two integers splits integer data the same way; k + 0.5 keeps the file short.
      threshold = Math.ceil(threshold) - 0.5;
    } else if (!(threshold > lo)) threshold = hi;

    let split = start;
    for (let i = start; i < end; i++) {
      if (data[idx[i] * m + f] < threshold) {
        const tmp = idx[i];
        idx[i] = idx[split];
        idx[split] = tmp;
        split++;
      }
    }
    tree.feature[at] = f;
    tree.threshold[at] = threshold;
    grow(tree, data, specs, draws, idx, start, split, depth + 1, limit, rng);
    grow(tree, data, specs, draws, idx, split, end, depth + 1, limit, rng);
    return;
  }
}
