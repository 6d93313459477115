import { averagePathLength } from './path-length.js';
import type { CompactTree } from './forest-train.js';

/**
 * A tree prepared for explanations: child links and, at each leaf, the value being explained.
 * The value is the negated path length, so a positive Shapley value pushes toward "anomaly".
 */
export interface ShapTree {
  feature: Int32Array;
  threshold: Float64Array;
  size: Float64Array;
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;
  depth: number;
}

export function prepareShapTree(tree: CompactTree): ShapTree {
  const n = tree.feature.length;
  const left = new Int32Array(n).fill(-1);
  const right = new Int32Array(n).fill(-1);
  const value = new Float64Array(n);
  let maxDepth = 0;
  const walk = (i: number, depth: number): number => {
    maxDepth = Math.max(maxDepth, depth);
    if (tree.feature[i] < 0) {
      value[i] = -(depth + averagePathLength(tree.size[i]));
      return i + 1;
    }
    left[i] = i + 1;
    const next = walk(i + 1, depth + 1);
    right[i] = next;
    return walk(next, depth + 1);
  };
  walk(0, 0);
  return {
    feature: Int32Array.from(tree.feature),
    threshold: Float64Array.from(tree.threshold),
    size: Float64Array.from(tree.size),
    left,
    right,
    value,
    depth: maxDepth,
  };
}

/** The value explained for one tree, with no feature known: the cover-weighted mean leaf value. */
export function expectedValue(tree: ShapTree): number {
  let sum = 0;
  for (let i = 0; i < tree.feature.length; i++) if (tree.feature[i] < 0) sum += tree.size[i] * tree.value[i];
  return sum / tree.size[0];
}

/**
 * Exact path-dependent TreeSHAP (Lundberg et al. 2018, Algorithm 2): adds `scale` times this tree's
 * Shapley values for row `x` (transformed features) to `phi`. The "unique path" is kept in flat typed
 * arrays, one segment per recursion level, as the reference C++ implementation does.
 */
export class TreeShapExplainer {
  private readonly pathFeature: Int32Array;
  private readonly pathZero: Float64Array;
  private readonly pathOne: Float64Array;
  private readonly pathWeight: Float64Array;

  constructor(maxDepth: number) {
    const d = maxDepth + 2;
    const size = ((d + 1) * (d + 2)) / 2;
    this.pathFeature = new Int32Array(size);
    this.pathZero = new Float64Array(size);
    this.pathOne = new Float64Array(size);
    this.pathWeight = new Float64Array(size);
  }

  explain(tree: ShapTree, x: Float64Array, xOffset: number, phi: Float64Array, scale: number): void {
    this.recurse(tree, x, xOffset, phi, scale, 0, 0, 0, 1, 1, -1);
  }

  private recurse(
    tree: ShapTree,
    x: Float64Array,
    xo: number,
    phi: Float64Array,
    scale: number,
    node: number,
    parentStart: number,
    depth: number,
    zero: number,
    one: number,
    feature: number,
  ): void {
    const pf = this.pathFeature,
      pz = this.pathZero,
      po = this.pathOne,
      pw = this.pathWeight;
    // This level's copy of the unique path starts right after the parent's valid elements.
    const base = depth === 0 ? 0 : parentStart + depth;
    for (let i = 0; i < depth; i++) {
      pf[base + i] = pf[parentStart + i];
      pz[base + i] = pz[parentStart + i];
      po[base + i] = po[parentStart + i];
      pw[base + i] = pw[parentStart + i];
    }
    this.extend(base, depth, zero, one, feature);

    const split = tree.feature[node];
    if (split < 0) {
      const v = tree.value[node] * scale;
      for (let i = 1; i <= depth; i++) {
        const w = this.unwoundSum(base, depth, i);
        phi[pf[base + i]] += w * (po[base + i] - pz[base + i]) * v;
      }
      return;
    }
    const goesRight = x[xo + split] >= tree.threshold[node];
    const hot = goesRight ? tree.right[node] : tree.left[node];
    const cold = goesRight ? tree.left[node] : tree.right[node];
    const w = tree.size[node];
    let incomingZero = 1;
    let incomingOne = 1;
    let d = depth;
    for (let k = 0; k <= d; k++) {
      if (pf[base + k] === split) {
        incomingZero = pz[base + k];
        incomingOne = po[base + k];
        this.unwind(base, d, k);
        d -= 1;
        break;
      }
    }
    this.recurse(tree, x, xo, phi, scale, hot, base, d + 1, (tree.size[hot] / w) * incomingZero, incomingOne, split);
    this.recurse(tree, x, xo, phi, scale, cold, base, d + 1, (tree.size[cold] / w) * incomingZero, 0, split);
  }

  private extend(base: number, depth: number, zero: number, one: number, feature: number): void {
    const pf = this.pathFeature,
      pz = this.pathZero,
      po = this.pathOne,
      pw = this.pathWeight;
    pf[base + depth] = feature;
    pz[base + depth] = zero;
    po[base + depth] = one;
    pw[base + depth] = depth === 0 ? 1 : 0;
    for (let i = depth - 1; i >= 0; i--) {
      pw[base + i + 1] += (one * pw[base + i] * (i + 1)) / (depth + 1);
      pw[base + i] = (zero * pw[base + i] * (depth - i)) / (depth + 1);
    }
  }

  private unwind(base: number, depth: number, index: number): void {
    const pf = this.pathFeature,
      pz = this.pathZero,
      po = this.pathOne,
      pw = this.pathWeight;
    const one = po[base + index];
    const zero = pz[base + index];
    let next = pw[base + depth];
    for (let i = depth - 1; i >= 0; i--) {
      if (one !== 0) {
        const tmp = pw[base + i];
        pw[base + i] = (next * (depth + 1)) / ((i + 1) * one);
        next = tmp - (pw[base + i] * zero * (depth - i)) / (depth + 1);
      } else {
        pw[base + i] = (pw[base + i] * (depth + 1)) / (zero * (depth - i));
      }
    }
    for (let i = index; i < depth; i++) {
      pf[base + i] = pf[base + i + 1];
      pz[base + i] = pz[base + i + 1];
      po[base + i] = po[base + i + 1];
    }
  }

  private unwoundSum(base: number, depth: number, index: number): number {
    const pz = this.pathZero,
      po = this.pathOne,
      pw = this.pathWeight;
    const one = po[base + index];
    const zero = pz[base + index];
    let next = pw[base + depth];
    let total = 0;
    if (one !== 0) {
      for (let i = depth - 1; i >= 0; i--) {
        const tmp = next / ((i + 1) * one);
        total += tmp;
        next = pw[base + i] - tmp * zero * (depth - i);
      }
    } else {
      for (let i = depth - 1; i >= 0; i--) total += pw[base + i] / (zero * (depth - i));
    }
    return total * (depth + 1);
  }
}

/**
 * The same Shapley values by brute force over every coalition of features, with the same value
 * function (path-dependent: a feature outside the coalition follows both children, weighted by cover).
 * Exponential in the number of features; the reference the fast algorithms are tested against.
 * `reads[c]` (models with conditional features): the features column c is a function of; the column is known
 * in a coalition holding all of them. Without it, column c is feature c.
 */
export function bruteForceShap(
  tree: ShapTree,
  x: Float64Array,
  xOffset: number,
  features: number,
  reads?: ArrayLike<number>,
): Float64Array {
  const value = (mask: number, node: number): number => {
    const f = tree.feature[node];
    if (f < 0) return tree.value[node];
    const needs = reads ? reads[f] : 1 << f;
    if ((mask & needs) === needs)
      return value(mask, x[xOffset + f] >= tree.threshold[node] ? tree.right[node] : tree.left[node]);
    const l = tree.left[node];
    const r = tree.right[node];
    return (tree.size[l] * value(mask, l) + tree.size[r] * value(mask, r)) / tree.size[node];
  };
  const v = new Float64Array(1 << features);
  for (let mask = 0; mask < v.length; mask++) v[mask] = value(mask, 0);
  const fact = [1];
  for (let i = 1; i <= features; i++) fact[i] = fact[i - 1] * i;
  const phi = new Float64Array(features);
  for (let i = 0; i < features; i++) {
    for (let mask = 0; mask < v.length; mask++) {
      if (mask & (1 << i)) continue;
      let s = 0;
      for (let b = mask; b; b &= b - 1) s++;
      const weight = (fact[s] * fact[features - s - 1]) / fact[features];
      phi[i] += weight * (v[mask | (1 << i)] - v[mask]);
    }
  }
  return phi;
}
