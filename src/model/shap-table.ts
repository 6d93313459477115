import { ShapKernel } from './shap-kernel.js';
import type { ShapTree } from './tree-shap.js';

const M = 5;
const PATTERNS = 1 << M;
/** Columns a node may split on (conditional features add four to the five fields): 4 bits of a node's code. */
const MAX_COLUMNS = 16;
/**
 * explainBlock packs four rows' patterns in one int, a byte each: a unit's pattern may span at most 8 columns met
 * above it. Plain models meet at most 5; conditional ones (9 columns) only with trees deeper than 8 levels
 * (sample size over 256), which explain row by row (explain()).
 */
const PACKED_BITS = 8;
/** Column j reads field j: a model without conditional features. */
const PLAIN_READS = [1, 2, 4, 8, 16];
/** Subtrees with at most this many splits are tabulated whole (3 measured fastest of 1..5). */
const UNIT_SPLITS = 3;
/**
 * Rows explained together, tree by tree. Every tree's tables (about 80 KB) come back from memory once per
 * block, so blocks are large: 4096 measured 1.15x faster than 1024 and 1.2x faster than 256; 8192, 1%.
 */
export const BLOCK_ROWS = 4096;

/**
 * Exact path-dependent Shapley values, fast enough for every row of a large file.
 *
 * The path-dependent value function of a tree is a sum over leaves of products over the features on the
 * leaf's path: v(S) = sum_l value_l * prod_{j in F_l} (j in S ? a_j : R_j), where a_j is 1 when x takes
 * the leaf's side at every split on j, and R_j is the product of the cover ratios of those splits. The
 * Shapley value of such a product game depends on x only through the bits a_j, so it can be tabulated.
 *
 * The tables go one step further: each subtree of at most UNIT_SPLITS splits (a "unit") has one table,
 * the sum of its leaves' values, indexed by the a-bits at the unit's root and by the unit's own splits.
 * Patterns cover only the features on the path (2^k of them for k features; a_j = 1 for the others).
 * Explaining a row is then one pass over the splits above the units, carrying the pattern, and one table
 * row added per unit: about 2,800 for the bundled model instead of one per leaf (8,200).
 * Same numbers as TreeSHAP's Algorithm 2 and brute force, to rounding: see test/model/shap-table.test.ts.
 *
 * Conditional features (conditional.ts) are columns that read two fields (`reads`): a column is known in a
 * coalition of fields holding both. The leaf's game is then v(S) = value_l * prod_{c in C_l} (reads_c in S ? a_c :
 * R_c) over the columns C_l on its path, still a function of x only through the bits a_c, so the same tables work
 * with patterns over the path's columns (up to 8 of the 9 for trees of depth 8) and each entry the Shapley values
 * over the fields that the path's columns read (at most 5 players: 32 coalitions, computed at build time).
 * See test/model/conditional.test.ts.
 */
export class ShapTable {
  /** Per tree: its first node, leaf unit and split unit; one more entry marks the end. */
  private readonly treeStart: Int32Array;
  /** Per node above the units, in pre-order: left child's slot, right child's slot, column | bit << 4. */
  private readonly nodeLinks: Int32Array;
  private readonly nodeThreshold: Float64Array;
  /** Units without splits (a leaf whose parent is above the units): slot, table offset. */
  private readonly leafUnits: Int32Array;
  /** Units with 1..3 splits: slot, table offset, (3 - splits) | f1 << 2 | f2 << 6 | f3 << 10 (columns). */
  private readonly splitUnits: Int32Array;
  /** Three per split unit, in pre-order; unused ones are +Infinity (their bits are shifted out). */
  private readonly splitThreshold: Float64Array;
  private readonly table: Float64Array;
  /** Scratch: each slot's pattern for four rows, a byte each: bit i on when a_j = 0 for the i-th column on the path. */
  private readonly bits: Int32Array;
  private acc = new Float64Array(0);
  /** Values per row of x: the forest's columns (5 for plain models). */
  private readonly stride: number;
  /** Whether every unit's pattern fits a byte, so explainBlock can pack four rows in one int. */
  private readonly packed: boolean;
  /** explainBlock's packed path in WebAssembly, where it runs (null: the JavaScript below). */
  private readonly kernel: ShapKernel | null;

  /**
   * `reads[c]`: the fields column c reads (bit j: field j); without it, the five plain columns. `kernel` 'js' keeps
   * blocks in JavaScript even where WebAssembly runs (for comparisons).
   */
  constructor(trees: readonly ShapTree[], reads: ArrayLike<number> = PLAIN_READS, kernel: 'auto' | 'js' = 'auto') {
    const layout = buildLayout(trees, reads);
    this.stride = reads.length;
    this.packed = layout.patternBits <= PACKED_BITS;
    this.treeStart = Int32Array.from(layout.treeStart);
    this.nodeLinks = Int32Array.from(layout.links);
    this.nodeThreshold = Float64Array.from(layout.nodeThreshold);
    this.leafUnits = Int32Array.from(layout.leafUnits);
    this.splitUnits = Int32Array.from(layout.splitUnits);
    this.splitThreshold = Float64Array.from(layout.splitThreshold);
    this.bits = new Int32Array(layout.slots);
    this.kernel =
      this.packed && kernel === 'auto'
        ? ShapKernel.create(
            {
              treeStart: this.treeStart,
              nodeLinks: this.nodeLinks,
              nodeThreshold: this.nodeThreshold,
              leafUnits: this.leafUnits,
              splitUnits: this.splitUnits,
              splitThreshold: this.splitThreshold,
              table: layout.table,
              slots: layout.slots,
              stride: this.stride,
            },
            BLOCK_ROWS,
          )
        : null;
    // The kernel's copy of the tables serves explain() too: one copy in memory.
    this.table = this.kernel ? this.kernel.table : layout.table;
  }

  /** Which code explains blocks of rows: 'wasm' (shap-kernel.wat) or 'js' (explainBlock below). */
  get kernelKind(): 'wasm' | 'js' {
    return this.kernel ? 'wasm' : 'js';
  }

  /**
   * Adds `scale` times the Shapley values of row `x` (transformed, at `offset`) to `phi[0..4]`: explainBlock
   * for one row, without its four lanes (1.5x faster for one row). Same sums in the same order.
   */
  explain(x: Float64Array, offset: number, phi: Float64Array, scale: number): void {
    const { treeStart, nodeLinks, nodeThreshold, leafUnits, splitUnits, splitThreshold, table, bits } = this;
    const trees = treeStart.length / 3 - 1;
    let a0 = 0,
      a1 = 0,
      a2 = 0,
      a3 = 0,
      a4 = 0;
    for (let t = 0; t < trees; t++) {
      bits[0] = 0;
      for (let k = treeStart[3 * t], p = 0; k < treeStart[3 * t + 3]; k++, p++) {
        const code = nodeLinks[3 * k + 2];
        const bit = code >> 4;
        const right = -+(x[offset + (code & 15)] >= nodeThreshold[k]) & bit;
        bits[nodeLinks[3 * k]] = bits[p] | right;
        bits[nodeLinks[3 * k + 1]] = bits[p] | (bit ^ right);
      }
      for (let k = treeStart[3 * t + 1]; k < treeStart[3 * t + 4]; k++) {
        const i = leafUnits[2 * k + 1] + bits[leafUnits[2 * k]] * M;
        a0 += table[i];
        a1 += table[i + 1];
        a2 += table[i + 2];
        a3 += table[i + 3];
        a4 += table[i + 4];
      }
      for (let k = treeStart[3 * t + 2]; k < treeStart[3 * t + 5]; k++) {
        const code = splitUnits[3 * k + 2];
        const goes =
          (+(x[offset + ((code >> 2) & 15)] >= splitThreshold[3 * k]) << 2) |
          (+(x[offset + ((code >> 6) & 15)] >= splitThreshold[3 * k + 1]) << 1) |
          +(x[offset + ((code >> 10) & 15)] >= splitThreshold[3 * k + 2]);
        const i = splitUnits[3 * k + 1] + (((bits[splitUnits[3 * k]] << 3) | goes) >> (code & 3)) * M;
        a0 += table[i];
        a1 += table[i + 1];
        a2 += table[i + 2];
        a3 += table[i + 3];
        a4 += table[i + 4];
      }
    }
    phi[0] += scale * a0;
    phi[1] += scale * a1;
    phi[2] += scale * a2;
    phi[3] += scale * a3;
    phi[4] += scale * a4;
  }

  /**
   * Adds `scale` times the Shapley values of `count` rows (encoded, row-major from `offset`, `stride` values a
   * row) to `phi` (5 per row, from 0). Tree by tree over a block of rows, so a tree's tables stay in cache; four rows at a
   * time, their patterns packed in one int (a byte each), so each node's and unit's description is read and
   * each pattern stored once for all four (1.25x over two rows at a time, 1.7x over one).
   *
   * A count that is not a multiple of four: the WebAssembly kernel repeats the last row in the short group's spare
   * lanes, which costs about one row (the time goes to fetching the tables: 1-3 rows ~250 µs, cold caches, as between
   * the daemon's micro-batches); in JavaScript a short group would cost four rows, so the last one to three go
   * through explain(), 300-600 µs. explain() sums a row exactly as a group does: the same bits either way.
   */
  explainBlock(x: Float64Array, offset: number, count: number, phi: Float64Array, scale: number): void {
    const { stride } = this;
    if (!this.packed) {
      for (let r = 0; r < count; r++) this.explain(x, offset + r * stride, phi.subarray(r * M, r * M + M), scale);
      return;
    }
    if (this.kernel) {
      this.kernel.explainBlock(x, offset, count, phi, scale);
      return;
    }
    const grouped = count - (count % 4);
    this.explainGroups(x, offset, grouped, phi, scale);
    for (let r = grouped; r < count; r++) this.explain(x, offset + r * stride, phi.subarray(r * M, r * M + M), scale);
  }

  /** explainBlock in JavaScript for a multiple of four rows. */
  private explainGroups(x: Float64Array, offset: number, count: number, phi: Float64Array, scale: number): void {
    const { treeStart, nodeLinks, nodeThreshold, leafUnits, splitUnits, splitThreshold, table, bits, stride } = this;
    const trees = treeStart.length / 3 - 1;
    const rows = Math.min(count, BLOCK_ROWS);
    if (this.acc.length < rows * M) this.acc = new Float64Array(rows * M);
    const acc = this.acc;
    for (let first = 0; first < count; first += BLOCK_ROWS) {
      const n = Math.min(BLOCK_ROWS, count - first);
      acc.fill(0, 0, n * M);
      for (let t = 0; t < trees; t++) {
        const n0 = treeStart[3 * t],
          l0 = treeStart[3 * t + 1],
          s0 = treeStart[3 * t + 2];
        const n1 = treeStart[3 * t + 3],
          l1 = treeStart[3 * t + 4],
          s1 = treeStart[3 * t + 5];
        for (let r = 0; r < n; r += 4) {
          const x0 = offset + (first + r) * stride;
          const x1 = x0 + stride,
            x2 = x0 + 2 * stride,
            x3 = x0 + 3 * stride;
          bits[0] = 0;
          // The child on the other side from x's turns its feature's bit on (a_j = 0 below it).
          for (let k = n0, p = 0; k < n1; k++, p++) {
            const left = nodeLinks[3 * k],
              right = nodeLinks[3 * k + 1],
              code = nodeLinks[3 * k + 2];
            const f = code & 15,
              th = nodeThreshold[k];
            const lanes = (code >> 4) * 0x01010101; // the feature's bit in every row's byte
            const right4 =
              ((-+(x[x0 + f] >= th) & 0xff) |
                (-+(x[x1 + f] >= th) & 0xff00) |
                (-+(x[x2 + f] >= th) & 0xff0000) |
                (-+(x[x3 + f] >= th) & 0xff000000)) &
              lanes;
            const z = bits[p];
            bits[left] = z | right4;
            bits[right] = z | (lanes ^ right4);
          }
          const a = r * M;
          let a0 = acc[a],
            a1 = acc[a + 1],
            a2 = acc[a + 2],
            a3 = acc[a + 3],
            a4 = acc[a + 4];
          let b0 = acc[a + 5],
            b1 = acc[a + 6],
            b2 = acc[a + 7],
            b3 = acc[a + 8],
            b4 = acc[a + 9];
          let c0 = acc[a + 10],
            c1 = acc[a + 11],
            c2 = acc[a + 12],
            c3 = acc[a + 13],
            c4 = acc[a + 14];
          let d0 = acc[a + 15],
            d1 = acc[a + 16],
            d2 = acc[a + 17],
            d3 = acc[a + 18],
            d4 = acc[a + 19];
          for (let k = l0; k < l1; k++) {
            const slot = leafUnits[2 * k],
              base = leafUnits[2 * k + 1];
            const z = bits[slot];
            const i = base + (z & 0xff) * M,
              j = base + ((z >> 8) & 0xff) * M,
              g = base + ((z >> 16) & 0xff) * M,
              h = base + (z >>> 24) * M;
            a0 += table[i];
            a1 += table[i + 1];
            a2 += table[i + 2];
            a3 += table[i + 3];
            a4 += table[i + 4];
            b0 += table[j];
            b1 += table[j + 1];
            b2 += table[j + 2];
            b3 += table[j + 3];
            b4 += table[j + 4];
            c0 += table[g];
            c1 += table[g + 1];
            c2 += table[g + 2];
            c3 += table[g + 3];
            c4 += table[g + 4];
            d0 += table[h];
            d1 += table[h + 1];
            d2 += table[h + 2];
            d3 += table[h + 3];
            d4 += table[h + 4];
          }
          for (let k = s0; k < s1; k++) {
            const slot = splitUnits[3 * k],
              base = splitUnits[3 * k + 1],
              code = splitUnits[3 * k + 2];
            const shift = code & 3,
              f1 = (code >> 2) & 15,
              f2 = (code >> 6) & 15,
              f3 = (code >> 10) & 15;
            const t1 = splitThreshold[3 * k],
              t2 = splitThreshold[3 * k + 1],
              t3 = splitThreshold[3 * k + 2];
            const z = bits[slot];
            const ia =
              (((z & 0xff) << 3) | (+(x[x0 + f1] >= t1) << 2) | (+(x[x0 + f2] >= t2) << 1) | +(x[x0 + f3] >= t3)) >>
              shift;
            const ib =
              ((((z >> 8) & 0xff) << 3) |
                (+(x[x1 + f1] >= t1) << 2) |
                (+(x[x1 + f2] >= t2) << 1) |
                +(x[x1 + f3] >= t3)) >>
              shift;
            const ic =
              ((((z >> 16) & 0xff) << 3) |
                (+(x[x2 + f1] >= t1) << 2) |
                (+(x[x2 + f2] >= t2) << 1) |
                +(x[x2 + f3] >= t3)) >>
              shift;
            const id =
              (((z >>> 24) << 3) | (+(x[x3 + f1] >= t1) << 2) | (+(x[x3 + f2] >= t2) << 1) | +(x[x3 + f3] >= t3)) >>
              shift;
            const i = base + ia * M,
              j = base + ib * M,
              g = base + ic * M,
              h = base + id * M;
            a0 += table[i];
            a1 += table[i + 1];
            a2 += table[i + 2];
            a3 += table[i + 3];
            a4 += table[i + 4];
            b0 += table[j];
            b1 += table[j + 1];
            b2 += table[j + 2];
            b3 += table[j + 3];
            b4 += table[j + 4];
            c0 += table[g];
            c1 += table[g + 1];
            c2 += table[g + 2];
            c3 += table[g + 3];
            c4 += table[g + 4];
            d0 += table[h];
            d1 += table[h + 1];
            d2 += table[h + 2];
            d3 += table[h + 3];
            d4 += table[h + 4];
          }
          acc[a] = a0;
          acc[a + 1] = a1;
          acc[a + 2] = a2;
          acc[a + 3] = a3;
          acc[a + 4] = a4;
          acc[a + 5] = b0;
          acc[a + 6] = b1;
          acc[a + 7] = b2;
          acc[a + 8] = b3;
          acc[a + 9] = b4;
          acc[a + 10] = c0;
          acc[a + 11] = c1;
          acc[a + 12] = c2;
          acc[a + 13] = c3;
          acc[a + 14] = c4;
          acc[a + 15] = d0;
          acc[a + 16] = d1;
          acc[a + 17] = d2;
          acc[a + 18] = d3;
          acc[a + 19] = d4;
        }
      }
      const out = first * M;
      for (let i = 0; i < n * M; i++) phi[out + i] += scale * acc[i];
    }
  }
}

/** Bytes of the tables a ShapTable of these trees would hold (what it costs in memory), without building them. */
export function shapTableBytes(trees: readonly ShapTree[]): number {
  return 8 * trees.reduce((n, tree) => n + tableLength(tree, countSplits(tree), 0, 0), 0);
}

/** The ShapTable's arrays while they are built, tree by tree (see the field comments on ShapTable). */
interface Layout {
  readonly treeStart: number[];
  readonly links: number[];
  readonly nodeThreshold: number[];
  readonly leafUnits: number[];
  readonly splitUnits: number[];
  readonly splitThreshold: number[];
  /** Sized up front (tableLength), filled unit by unit from `tableSize`. */
  readonly table: Float64Array;
  tableSize: number;
  /** The most slots any tree uses: the length of the pattern scratch. */
  slots: number;
  /** The most columns met above any unit: the bits of its patterns. */
  patternBits: number;
  readonly weights: number[][];
  /** The fields each column reads; `plain` when column j is field j (the product games of shapleyOfProduct). */
  readonly reads: ArrayLike<number>;
  readonly plain: boolean;
}

/** One tree's state during the pre-order walk that lays it out. */
interface TreeWalk {
  readonly tree: ShapTree;
  readonly splits: Int32Array;
  /** Columns met on the path from the root, in order: bit i of a pattern is order[i]'s. */
  readonly order: number[];
  /** Per column, the product of the cover ratios of the splits on it along the path (R_j). */
  readonly ratio: Float64Array;
  nextNode: number;
  nextUnit: number;
}

/** Lays out every tree: nodes above the units, unit descriptions and their tables, and where each tree starts. */
function buildLayout(trees: readonly ShapTree[], reads: ArrayLike<number>): Layout {
  if (reads.length > MAX_COLUMNS) throw new Error(`shap table: at most ${MAX_COLUMNS} columns`);
  const splitCounts = trees.map(countSplits);
  const layout: Layout = {
    treeStart: [],
    links: [],
    nodeThreshold: [],
    leafUnits: [],
    splitUnits: [],
    splitThreshold: [],
    table: new Float64Array(trees.reduce((n, tree, t) => n + tableLength(tree, splitCounts[t], 0, 0), 0)),
    tableSize: 0,
    slots: 1,
    patternBits: 0,
    weights: shapleyWeights(),
    reads,
    plain: reads.length === M && Array.from(reads).every((r, j) => r === 1 << j),
  };
  trees.forEach((tree, t) => {
    layoutTree(layout, tree, splitCounts[t]);
  });
  pushTreeStart(layout);
  if (layout.tableSize !== layout.table.length) throw new Error('shap table: units disagree with their sizes');
  return layout;
}

/** Where the next tree starts in the node, leaf-unit and split-unit lists (one more entry marks the end). */
function pushTreeStart(layout: Layout): void {
  layout.treeStart.push(layout.links.length / 3, layout.leafUnits.length / 2, layout.splitUnits.length / 3);
}

/** One tree. Slots: nodes above the units first, in pre-order (so a node's slot is its index), then units. */
function layoutTree(layout: Layout, tree: ShapTree, splits: Int32Array): void {
  pushTreeStart(layout);
  let upper = 0;
  for (let i = 0; i < tree.feature.length; i++) if (splits[i] > UNIT_SPLITS) upper++;
  const ratio = new Float64Array(layout.reads.length).fill(1);
  const walk: TreeWalk = { tree, splits, order: [], ratio, nextNode: 0, nextUnit: upper };
  visitNode(layout, walk, 0);
  layout.slots = Math.max(layout.slots, walk.nextUnit);
}

/** Lays out `node`'s subtree: a unit when it is small enough, else a node above the units. Returns its slot. */
function visitNode(layout: Layout, walk: TreeWalk, node: number): number {
  const { tree, order, ratio } = walk;
  if (walk.splits[node] <= UNIT_SPLITS) {
    const slot = walk.nextUnit++;
    addUnit(layout, walk, node, slot);
    return slot;
  }
  const slot = walk.nextNode++;
  const f = tree.feature[node];
  let pos = order.indexOf(f);
  const added = pos < 0;
  if (added) {
    pos = order.length;
    order.push(f);
  }
  const at = layout.links.length;
  layout.links.push(0, 0, f | ((1 << pos) << 4));
  layout.nodeThreshold.push(tree.threshold[node]);
  const saved = ratio[f];
  ratio[f] = saved * (tree.size[tree.left[node]] / tree.size[node]);
  layout.links[at] = visitNode(layout, walk, tree.left[node]);
  ratio[f] = saved * (tree.size[tree.right[node]] / tree.size[node]);
  layout.links[at + 1] = visitNode(layout, walk, tree.right[node]);
  ratio[f] = saved;
  if (added) order.pop();
  return slot;
}

/** A unit rooted at `root`: its table, then its description (a leaf unit, or a split unit with its thresholds). */
function addUnit(layout: Layout, walk: TreeWalk, root: number, slot: number): void {
  const { tree } = walk;
  const inner = unitSplits(tree, root);
  const m = inner.length;
  const entries = layout.table.subarray(layout.tableSize, layout.tableSize + (1 << (walk.order.length + m)) * M);
  layout.patternBits = Math.max(layout.patternBits, walk.order.length);
  fillUnitTable(entries, walk, root, inner, layout);
  if (m === 0) layout.leafUnits.push(slot, layout.tableSize);
  else {
    let code = 3 - m;
    inner.forEach((node, q) => {
      code |= tree.feature[node] << (2 + 4 * q);
      layout.splitThreshold.push(tree.threshold[node]);
    });
    for (let q = m; q < 3; q++) layout.splitThreshold.push(Infinity);
    layout.splitUnits.push(slot, layout.tableSize, code);
  }
  layout.tableSize += entries.length;
}

/** The unit's splits, in pre-order. */
function unitSplits(tree: ShapTree, root: number): number[] {
  const inner: number[] = [];
  const collect = (node: number): void => {
    if (tree.feature[node] < 0) return;
    inner.push(node);
    collect(tree.left[node]);
    collect(tree.right[node]);
  };
  collect(root);
  return inner;
}

/**
 * Fills a unit's table: entry (pattern << m | goesRight bits, first split highest) is the sum over the unit's
 * leaves of their Shapley values, for the a-bits `pattern` at the unit's root and the sides x takes at its m
 * splits.
 */
function fillUnitTable(
  entries: Float64Array,
  walk: TreeWalk,
  root: number,
  inner: readonly number[],
  layout: Layout,
): void {
  const { tree, ratio } = walk;
  const { weights, reads } = layout;
  const k = walk.order.length;
  const m = inner.length;
  // `steps`: the unit's splits above a leaf, as (split, side, pattern bit); the bit is on when x goes to the
  // other side.
  const descend = (node: number, path: number[], steps: number[]): void => {
    if (tree.feature[node] < 0) {
      const value = tree.value[node];
      const values = layout.plain
        ? leafTable(path, ratio, value, weights)
        : leafTableOfColumns(path, reads, ratio, value, weights);
      addLeaf(entries, values, steps, k, m);
      return;
    }
    const q = inner.indexOf(node);
    const f = tree.feature[node];
    const pos = path.includes(f) ? path.indexOf(f) : path.length;
    const next = pos < path.length ? path : [...path, f];
    const saved = ratio[f];
    ratio[f] = saved * (tree.size[tree.left[node]] / tree.size[node]);
    descend(tree.left[node], next, [...steps, q, 0, 1 << pos]);
    ratio[f] = saved * (tree.size[tree.right[node]] / tree.size[node]);
    descend(tree.right[node], next, [...steps, q, 1, 1 << pos]);
    ratio[f] = saved;
  };
  descend(root, walk.order, []);
}

/**
 * Adds one leaf's values (`leafTable`, indexed by its path's pattern) to every entry of its unit's table: for
 * each way x can go at the unit's m splits, the splits where x leaves the leaf's side turn their feature's bit on.
 */
function addLeaf(entries: Float64Array, values: Float64Array, steps: readonly number[], k: number, m: number): void {
  for (let goes = 0; goes < 1 << m; goes++) {
    let extra = 0;
    for (let i = 0; i < steps.length; i += 3) {
      if (((goes >> (m - 1 - steps[i])) & 1) !== steps[i + 1]) extra |= steps[i + 2];
    }
    for (let pattern = 0; pattern < 1 << k; pattern++) {
      const e = ((pattern << m) | goes) * M,
        v = (pattern | extra) * M;
      for (let j = 0; j < M; j++) entries[e + j] += values[v + j];
    }
  }
}

/** Splits in each node's subtree (children follow their parent in pre-order). */
function countSplits(tree: ShapTree): Int32Array {
  const splits = new Int32Array(tree.feature.length);
  for (let i = splits.length - 1; i >= 0; i--)
    if (tree.feature[i] >= 0) splits[i] = 1 + splits[tree.left[i]] + splits[tree.right[i]];
  return splits;
}

/** Doubles in the tables of the units under `node`, with the columns in `onPath` met above it. */
function tableLength(tree: ShapTree, splits: Int32Array, node: number, onPath: number): number {
  if (splits[node] <= UNIT_SPLITS) {
    let k = 0;
    for (let j = 0; j < MAX_COLUMNS; j++) k += (onPath >> j) & 1;
    return (1 << (k + splits[node])) * M;
  }
  const below = onPath | (1 << tree.feature[node]);
  return tableLength(tree, splits, tree.left[node], below) + tableLength(tree, splits, tree.right[node], below);
}

/** weights[k][s] = s! (k - s - 1)! / k!, the Shapley weight of a coalition of size s among k players. */
function shapleyWeights(): number[][] {
  const fact = [1, 1, 2, 6, 24, 120];
  return Array.from({ length: M + 1 }, (_, k) =>
    Array.from({ length: k }, (_, s) => (fact[s] * fact[k - s - 1]) / fact[k]),
  );
}

const leafValues = new Float64Array(PATTERNS * M); // scratch for leafTable

/**
 * One leaf's Shapley values of its product game for every pattern of its path's features `path`: entry
 * p (M values) has a_j = 0 for path[i] when bit i of p is on, and a_j = 1 otherwise. Returns a scratch
 * array, valid until the next call.
 */
function leafTable(path: readonly number[], ratio: Float64Array, value: number, weights: number[][]): Float64Array {
  const k = path.length;
  const players = [...path].sort((a, b) => a - b);
  const out = leafValues.fill(0, 0, (1 << k) * M);
  for (let p = 0; p < 1 << k; p++) {
    let pattern = PATTERNS - 1;
    for (let i = 0; i < k; i++) if (p & (1 << i)) pattern &= ~(1 << path[i]);
    shapleyOfProduct(out, p * M, players, pattern, ratio, value, weights);
  }
  return out;
}

const symmetric = new Float64Array(M); // scratch for shapleyOfProduct

/**
 * Each player's Shapley value of v(S) = value * prod_{j in S} a_j * prod_{j not in S} R_j, a_j = bit j of
 * `pattern`. A coalition holding a player with a_j = 0 is worth 0, so for player i only coalitions S of the
 * others with a_j = 1 (the set A) count, and those of one size s together weigh e_{|A|-s}(R over A), an
 * elementary symmetric polynomial, times the product of R over the others: O(k^2), not O(k 2^k).
 */
function shapleyOfProduct(
  out: Float64Array,
  row: number,
  players: readonly number[],
  pattern: number,
  ratio: Float64Array,
  value: number,
  weights: number[][],
): void {
  const k = players.length;
  const e = symmetric;
  for (const i of players) {
    let zeros = 1;
    let n = 0; // |A|
    e[0] = 1;
    for (const j of players) {
      if (j === i) continue;
      if ((pattern >> j) & 1) {
        n++;
        e[n] = 0;
        for (let t = n; t > 0; t--) e[t] += e[t - 1] * ratio[j];
      } else zeros *= ratio[j];
    }
    let sum = 0;
    for (let s = 0; s <= n; s++) sum += weights[k][s] * e[n - s];
    out[row + i] = value * (((pattern >> i) & 1) - ratio[i]) * zeros * sum;
  }
}

let columnValues = new Float64Array(0); // scratch for leafTableOfColumns
const coalitionValue = new Float64Array(PATTERNS);
const knownAt = new Int32Array(PATTERNS);
const unknownProduct = new Float64Array(PATTERNS);

/**
 * leafTable for columns that may read several fields (conditional features): the leaf's game is
 * v(S) = value * prod over the path's columns c of (reads_c in S ? a_c : R_c), the players the fields its columns
 * read (at most 5). Per coalition S, the columns known in S (`knownAt`, bit i for path[i]) and the product of R
 * over the others do not depend on the pattern; a pattern p (bit i: a = 0 for path[i]) zeroes the coalitions
 * knowing one of its columns. Then Shapley by its definition over the <= 32 coalitions. Returns a scratch array.
 */
function leafTableOfColumns(
  path: readonly number[],
  reads: ArrayLike<number>,
  ratio: Float64Array,
  value: number,
  weights: number[][],
): Float64Array {
  const k = path.length;
  let players = 0;
  for (const c of path) players |= reads[c];
  let n = 0;
  for (let b = players; b; b &= b - 1) n++;
  for (let s = players; ; s = (s - 1) & players) {
    let known = 0;
    let product = value;
    for (let i = 0; i < k; i++) {
      const need = reads[path[i]];
      if ((s & need) === need) known |= 1 << i;
      else product *= ratio[path[i]];
    }
    knownAt[s] = known;
    unknownProduct[s] = product;
    if (s === 0) break;
  }
  if (columnValues.length < (1 << k) * M) columnValues = new Float64Array((1 << k) * M);
  const out = columnValues.fill(0, 0, (1 << k) * M);
  const v = coalitionValue;
  for (let p = 0; p < 1 << k; p++) {
    for (let s = players; ; s = (s - 1) & players) {
      v[s] = knownAt[s] & p ? 0 : unknownProduct[s];
      if (s === 0) break;
    }
    for (let i = 0; i < M; i++) {
      const bit = 1 << i;
      if (!(players & bit)) continue;
      const others = players & ~bit;
      let sum = 0;
      for (let s = others; ; s = (s - 1) & others) {
        let size = 0;
        for (let b = s; b; b &= b - 1) size++;
        sum += weights[n][size] * (v[s | bit] - v[s]);
        if (s === 0) break;
      }
      out[p * M + i] = sum;
    }
  }
  return out;
}
