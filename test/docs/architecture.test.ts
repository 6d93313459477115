import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseModel } from '../../src/model/model-file.js';
import { ShapTable } from '../../src/model/shap-table.js';
import { prepareShapTree } from '../../src/model/tree-shap.js';

/**
 * docs/architecture.md names files, functions and figures so that readers can check it: these checks keep
 * those names pointing at something when code moves (a renamed file or function fails here, not in a reader's
 * search), and the TreeSHAP layout figures equal to what the bundled model builds.
 */
const root = join(import.meta.dirname, '../..');
const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) return [];
    return e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)];
  });
}
const repoFiles = files(root).map((f) => relative(root, f));
// The code, and the file names (the fault suite's tests are named by file).
const code = repoFiles.filter((f) => /^(src|test)\/.*\.tsx?$/.test(f) && f !== 'test/docs/architecture.test.ts');
const sourceText = [...repoFiles, ...code.map((f) => readFileSync(join(root, f), 'utf8'))].join('\n');

/** Every `code span` of the page. */
const spans = [...doc.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);

describe('docs/architecture.md', () => {
  it('names only files that exist (paths may be given from any folder down, e.g. core/store-sink.ts)', () => {
    const paths = spans.filter((s) => /^[\w./-]+\.(ts|tsx|mjs|json)$/.test(s));
    expect(paths.length).toBeGreaterThan(30);
    const missing = paths.filter((p) => !repoFiles.some((f) => f === p || f.endsWith(`/${p}`)));
    expect(missing).toEqual([]);
  });

  it('names only identifiers that occur in src or test (functions, types, fields, constants) or name a file', () => {
    const names = spans.filter((s) => /^[A-Za-z_][A-Za-z0-9_]{2,}$/.test(s));
    expect(names.length).toBeGreaterThan(80);
    const missing = [...new Set(names)].filter((n) => !new RegExp(`\\b${n}\\b`).test(sourceText));
    expect(missing).toEqual([]);
  });

  it("gives the bundled model's TreeSHAP layout figures as the code builds them", () => {
    const model = parseModel(readFileSync(join(root, 'src/model/default-model.json'), 'utf8'));
    const trees = model.forest.trees.map(prepareShapTree);
    // The arrays are private: read here only to count them.
    const t = new ShapTable(trees) as unknown as Record<string, ArrayLike<number>>;
    let nodes = 0;
    let leaves = 0;
    for (const tree of trees) {
      nodes += tree.feature.length;
      for (const f of tree.feature) if (f < 0) leaves++;
    }
    const leafUnits = t.leafUnits.length / 2;
    const splitUnits = t.splitUnits.length / 3;
    const n = (x: number) => x.toLocaleString('en-US');
    const upper = t.nodeLinks.length / 3;
    const megabytes = ((t.table.length * 8) / 1e6).toFixed(1);
    const expected =
      `(${trees.length} trees, ${n(nodes)} nodes, ${n(leaves)} leaves) the layout has ${n(upper)} upper nodes, ` +
      `${n(leafUnits)} leaf units and ${n(splitUnits)} split units: explaining a row adds ` +
      `${n(leafUnits + splitUnits)} table rows instead of one per leaf. ` +
      `The table holds ${n(t.table.length)} doubles (${megabytes} MB`;
    expect(doc.replace(/\s+/g, ' ')).toContain(expected);
  });
});
