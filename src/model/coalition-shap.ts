import type { ShapTree } from './tree-shap.js';

/** Players: the five transaction fields. */
const PLAYERS = 5;
const COALITIONS = 1 << PLAYERS;

/**
 * Exact Shapley values over the five fields for a forest whose columns are functions of subsets of them
 * (`reads[c]`: the fields column c reads; the five plain columns read one field each, conditional features two).
 *
 * The value function is TreeSHAP's path-dependent one, with a column known exactly when every field it reads is
 * in the coalition: v(S) follows x's side at a split on a known column and, at any other split, both children
 * weighted by their training cover. For plain columns this is the function TreeSHAP explains. The game has 32
 * coalitions, so all of v is computed at once: one walk per tree carries, per coalition, the probability of
 * reaching the node (coalitions that cannot reach it are dropped: `alive`, a 32-bit set), and the Shapley values
 * come from the 32 summed values with the usual weights (linear, so once per row, not per tree).
 */
export class CoalitionExplainer {
  /** Per column: the coalitions (bit S) in which the column is known, i.e. S contains every field it reads. */
  private readonly known: Int32Array;
  /** Reach probability per coalition, one row of 32 per depth. */
  private readonly weight: Float64Array;
  private readonly v = new Float64Array(COALITIONS);
  private readonly shapleyWeight: Float64Array;

  constructor(reads: ArrayLike<number>, maxDepth: number) {
    this.known = new Int32Array(reads.length);
    for (let c = 0; c < reads.length; c++) {
      let set = 0;
      for (let s = 0; s < COALITIONS; s++) if ((s & reads[c]) === reads[c]) set |= 1 << s;
      this.known[c] = set;
    }
    this.weight = new Float64Array((maxDepth + 2) * COALITIONS);
    const fact = [1, 1, 2, 6, 24, 120];
    this.shapleyWeight = Float64Array.from(
      { length: PLAYERS },
      (_, s) => (fact[s] * fact[PLAYERS - s - 1]) / fact[PLAYERS],
    );
  }

  /** Adds `scale` times v(S) of every tree, for all 32 coalitions S, to `v`. */
  values(trees: readonly ShapTree[], x: Float64Array, offset: number, v: Float64Array, scale: number): void {
    const w = this.weight;
    w.fill(1, 0, COALITIONS);
    for (const tree of trees) this.walk(tree, x, offset, v, scale, 0, 0, -1);
  }

  /** Adds `scale` times the Shapley values of row `x` (encoded, at `offset`) over all `trees` to `phi[0..4]`. */
  explain(trees: readonly ShapTree[], x: Float64Array, offset: number, phi: Float64Array, scale: number): void {
    const v = this.v.fill(0);
    this.values(trees, x, offset, v, scale);
    shapleyFromValues(v, phi, this.shapleyWeight);
  }

  private walk(
    tree: ShapTree,
    x: Float64Array,
    xo: number,
    v: Float64Array,
    scale: number,
    node: number,
    depth: number,
    alive: number,
  ): void {
    const w = this.weight;
    const at = depth * COALITIONS;
    const f = tree.feature[node];
    if (f < 0) {
      const value = tree.value[node] * scale;
      for (let a = alive; a !== 0; a &= a - 1) {
        const s = 31 - Math.clz32(a & -a);
        v[s] += w[at + s] * value;
      }
      return;
    }
    const left = tree.left[node];
    const right = tree.right[node];
    const toRight = x[xo + f] >= tree.threshold[node];
    const hot = toRight ? right : left;
    const cold = toRight ? left : right;
    const known = this.known[f];
    const next = at + COALITIONS;
    // x's side: every coalition still reaches it; those not knowing the column only with the cover ratio.
    const hotRatio = tree.size[hot] / tree.size[node];
    for (let a = alive; a !== 0; a &= a - 1) {
      const s = 31 - Math.clz32(a & -a);
      w[next + s] = (known >> s) & 1 ? w[at + s] : w[at + s] * hotRatio;
    }
    this.walk(tree, x, xo, v, scale, hot, depth + 1, alive);
    // The other side: only coalitions not knowing the column, with the cover ratio.
    const coldAlive = alive & ~known;
    if (coldAlive === 0) return;
    const coldRatio = tree.size[cold] / tree.size[node];
    for (let a = coldAlive; a !== 0; a &= a - 1) {
      const s = 31 - Math.clz32(a & -a);
      w[next + s] = w[at + s] * coldRatio;
    }
    this.walk(tree, x, xo, v, scale, cold, depth + 1, coldAlive);
  }
}

/** phi_i += sum over S without i of |S|! (n - |S| - 1)! / n! * (v(S + i) - v(S)). */
export function shapleyFromValues(v: Float64Array, phi: Float64Array, weights: Float64Array, offset = 0): void {
  for (let i = 0; i < PLAYERS; i++) {
    const bit = 1 << i;
    let sum = 0;
    for (let s = 0; s < COALITIONS; s++) {
      if (s & bit) continue;
      sum += weights[popcount(s)] * (v[s | bit] - v[s]);
    }
    phi[offset + i] += sum;
  }
}

function popcount(s: number): number {
  let n = 0;
  for (let b = s; b; b &= b - 1) n++;
  return n;
}
