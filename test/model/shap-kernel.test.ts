import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module script without types
import { assembleKernel, kernelModule } from '../../scripts/build-wasm.mjs';
import { RowEncoder } from '../../src/model/conditional.js';
import { BLOCK_ROWS, ShapTable } from '../../src/model/shap-table.js';
import { prepareShapTree } from '../../src/model/tree-shap.js';
import { createRandom, generateTransactions, parseModel, trainModel, transformRows } from './helpers.js';

/**
 * The WebAssembly kernel (shap-kernel.wat) against explainBlock in JavaScript, bit for bit: both sum each row's
 * table entries in the same order. The other ShapTable tests (brute force, explain() against explainBlock) run on
 * the kernel too, since it is the default wherever WebAssembly SIMD runs, which this test requires of CI's Node.
 */
describe('the WebAssembly ShapTable kernel', () => {
  it('is built from shap-kernel.wat as committed (npm run build:wasm)', async () => {
    const committed = readFileSync(new URL('../../src/model/shap-kernel-bytes.ts', import.meta.url), 'utf8');
    expect(committed).toBe(kernelModule(await assembleKernel()));
  });

  it('explains every block as the JavaScript kernel does, bit for bit: bundled, plain and conditional models', () => {
    const data = generateTransactions(BLOCK_ROWS + 500, 0.05, createRandom(21));
    const bundled = parseModel(readFileSync(new URL('../../src/model/default-model.json', import.meta.url), 'utf8'));
    const docs = [
      bundled,
      trainModel(data.raw, data.rows, { seed: 4, trees: 12, conditionalFeatures: 'none' }),
      trainModel(data.raw, data.rows, { seed: 5, trees: 12, conditionalFeatures: 'all' }),
      trainModel(data.raw, data.rows, { seed: 6, trees: 3, sampleSize: 4, conditionalFeatures: 'none' }),
    ];
    for (const doc of docs) {
      const trees = doc.forest.trees.map(prepareShapTree);
      const encoder = new RowEncoder(doc.features, doc.conditional);
      const wasm = new ShapTable(trees, encoder.reads);
      const js = new ShapTable(trees, encoder.reads, 'js');
      expect(wasm.kernelKind).toBe('wasm');
      expect(js.kernelKind).toBe('js');
      // Generated rows plus extremes and a missing value (NaN goes left on both).
      const raw = Float64Array.from([...data.raw, 0, 0, 0, 0, 0, 1e9, 23, 6, 99, 7, Number.NaN, 3, 2, 1, 0]);
      const count = raw.length / 5;
      const x = new Float64Array(count * encoder.width);
      if (doc.conditional) encoder.encode(raw, count, x);
      else transformRows(doc.features, raw, x, count);
      for (const [from, n] of [
        [0, 4],
        [3, 1],
        [5, 7],
        [1, BLOCK_ROWS + 3],
        [0, count],
      ]) {
        const a = new Float64Array(n * 5).fill(0.25);
        const b = new Float64Array(n * 5).fill(0.25);
        wasm.explainBlock(x, from * encoder.width, n, a, 1 / trees.length);
        js.explainBlock(x, from * encoder.width, n, b, 1 / trees.length);
        expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
      }
    }
  });
});
