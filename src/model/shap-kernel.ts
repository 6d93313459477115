import { SHAP_KERNEL_BASE64 } from './shap-kernel-bytes.js';

const M = 5;
const PAGE = 65_536;

/** The arrays of a ShapTable that the kernel reads (see the field comments on ShapTable). */
export interface ShapTableParts {
  readonly treeStart: Int32Array;
  readonly nodeLinks: Int32Array;
  readonly nodeThreshold: Float64Array;
  readonly leafUnits: Int32Array;
  readonly splitUnits: Int32Array;
  readonly splitThreshold: Float64Array;
  readonly table: Float64Array;
  readonly slots: number;
  readonly stride: number;
}

type BlockFn = (
  tree: number,
  treesEnd: number,
  x: number,
  n: number,
  strideB: number,
  acc: number,
  bits: number,
) => void;

let compiled: WebAssembly.Module | null | undefined;

/**
 * The compiled kernel, or null where WebAssembly or its SIMD is missing (e.g. node --jitless) or
 * SECUREFLOW_SHAP_KERNEL=js asks for the JavaScript one (for comparisons; both give the same bits).
 */
function kernelModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  if (process.env.SECUREFLOW_SHAP_KERNEL === 'js' || typeof WebAssembly === 'undefined') return compiled;
  try {
    compiled = new WebAssembly.Module(Buffer.from(SHAP_KERNEL_BASE64, 'base64'));
  } catch {
    // No SIMD here: the JavaScript kernel explains instead.
  }
  return compiled;
}

/**
 * ShapTable.explainBlock in WebAssembly (shap-kernel.wat): 2.4x the JavaScript's speed, the same bits. Holds its
 * own copy of the tables in linear memory, laid out as records of byte addresses; `table` is a view of it, so the
 * ShapTable keeps no second copy.
 */
export class ShapKernel {
  readonly table: Float64Array;
  private readonly f64: Float64Array;
  private readonly block: BlockFn;
  private readonly trees: number;
  private readonly stride: number;
  private readonly treeAt: number;
  private readonly bitsAt: number;
  private readonly xAt: number;
  private readonly accAt: number;

  /** A kernel over `parts` for blocks of up to `blockRows` rows, or null without WebAssembly SIMD. */
  static create(parts: ShapTableParts, blockRows: number): ShapKernel | null {
    const module = kernelModule();
    return module ? new ShapKernel(module, parts, blockRows) : null;
  }

  private constructor(
    module: WebAssembly.Module,
    p: ShapTableParts,
    private readonly blockRows: number,
  ) {
    this.trees = p.treeStart.length / 3 - 1;
    this.stride = p.stride;
    let end = 0;
    const take = (bytes: number): number => {
      const at = end;
      end += Math.ceil(bytes / 16) * 16;
      return at;
    };
    const nodeCount = p.nodeThreshold.length;
    const leafCount = p.leafUnits.length / 2;
    const splitCount = p.splitUnits.length / 3;
    this.treeAt = take(this.trees * 24);
    const nodeAt = take(nodeCount * 24);
    const leafAt = take(leafCount * 8);
    const splitAt = take(splitCount * 48);
    this.bitsAt = take(p.slots * 4);
    const tableAt = take(p.table.length * 8);
    this.xAt = take(blockRows * p.stride * 8);
    this.accAt = take((blockRows + 3) * M * 8);

    const instance = new WebAssembly.Instance(module, {});
    const memory = instance.exports.memory as WebAssembly.Memory;
    memory.grow(Math.ceil(end / PAGE)); // never again: the views below stay valid
    this.block = instance.exports.block as BlockFn;
    const i32 = new Int32Array(memory.buffer);
    const f64 = new Float64Array(memory.buffer);
    this.f64 = f64;
    const { treeStart: ts, nodeLinks, leafUnits, splitUnits } = p;
    for (let t = 0; t < this.trees; t++) {
      const o = (this.treeAt >> 2) + 6 * t;
      for (let part = 0; part < 2; part++) {
        i32[o + part] = nodeAt + ts[3 * t + 3 * part] * 24;
        i32[o + 2 + part] = leafAt + ts[3 * t + 1 + 3 * part] * 8;
        i32[o + 4 + part] = splitAt + ts[3 * t + 2 + 3 * part] * 48;
      }
    }
    for (let k = 0; k < nodeCount; k++) {
      const o = (nodeAt >> 2) + 6 * k;
      const code = nodeLinks[3 * k + 2];
      f64[o >> 1] = p.nodeThreshold[k];
      i32[o + 2] = this.bitsAt + 4 * nodeLinks[3 * k];
      i32[o + 3] = this.bitsAt + 4 * nodeLinks[3 * k + 1];
      i32[o + 4] = 8 * (code & 15);
      i32[o + 5] = (code >> 4) * 0x01010101; // the column's bit in every row's byte
    }
    for (let k = 0; k < leafCount; k++) {
      const o = (leafAt >> 2) + 2 * k;
      i32[o] = this.bitsAt + 4 * leafUnits[2 * k];
      i32[o + 1] = tableAt + 8 * leafUnits[2 * k + 1];
    }
    for (let k = 0; k < splitCount; k++) {
      const o = (splitAt >> 2) + 12 * k;
      const code = splitUnits[3 * k + 2];
      f64.set(p.splitThreshold.subarray(3 * k, 3 * k + 3), o >> 1);
      i32[o + 6] = this.bitsAt + 4 * splitUnits[3 * k];
      i32[o + 7] = tableAt + 8 * splitUnits[3 * k + 1];
      i32[o + 8] = code & 3;
      i32[o + 9] = 8 * ((code >> 2) & 15);
      i32[o + 10] = 8 * ((code >> 6) & 15);
      i32[o + 11] = 8 * ((code >> 10) & 15);
    }
    this.table = f64.subarray(tableAt >> 3, (tableAt >> 3) + p.table.length);
    this.table.set(p.table);
  }

  /** ShapTable.explainBlock's packed path: the same arguments, the same sums in the same order. */
  explainBlock(x: Float64Array, offset: number, count: number, phi: Float64Array, scale: number): void {
    const { f64, stride, blockRows } = this;
    const acc = this.accAt >> 3;
    for (let first = 0; first < count; first += blockRows) {
      const n = Math.min(blockRows, count - first);
      f64.set(x.subarray(offset + first * stride, offset + (first + n) * stride), this.xAt >> 3);
      f64.fill(0, acc, acc + (n + 3) * M);
      this.block(this.treeAt, this.treeAt + 24 * this.trees, this.xAt, n, 8 * stride, this.accAt, this.bitsAt);
      const out = first * M;
      for (let i = 0; i < n * M; i++) phi[out + i] += scale * f64[acc + i];
    }
  }
}
