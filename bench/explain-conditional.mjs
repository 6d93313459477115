// Explanation cost per row on a model with conditional features and on the bundled (plain) model, for comparing
// builds side by side (the README's conditional-features figures):
//   node bench/explain-conditional.mjs [DIST] [ROWS]
// DIST: a built dist/ folder (default: this checkout's; a copy of another commit's dist/ measures that one).
// Trains the conditional model with the defaults on the scenario suite's `mixed` data (40,000 rows, seed 7: all
// four columns kept), then times IsolationForestModel.explainRows over ROWS rows of the same data's next part
// (tables built first and timed apart), median of 3. Prints one JSON line per model. Run builds interleaved and
// take medians: the machine is shared.
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { generateScenario, SCENARIOS } from './scenarios/generators.mjs';

const dist = resolve(process.argv[2] ?? new URL('../dist', import.meta.url).pathname);
const rows = Number(process.argv[3] ?? 4000);
const { trainModel } = await import(`${dist}/model/train.js`);
const { parseModel, serializeModel } = await import(`${dist}/model/model-file.js`);
const { IsolationForestModel } = await import(`${dist}/model/model.js`);

const data = generateScenario(
  SCENARIOS.find((s) => s.name === 'mixed'),
  40_000 + rows,
  7,
).rows;
const raw = new Float64Array(data.length * 5);
data.forEach((r, i) => {
  for (let j = 0; j < 5; j++) raw[i * 5 + j] = Number(r[j]);
});
const conditional = parseModel(serializeModel(trainModel(raw.subarray(0, 40_000 * 5), 40_000, { seed: 42 })));
const bundled = parseModel(readFileSync(`${dist}/model/default-model.json`, 'utf8'));
const test = raw.subarray(40_000 * 5);

for (const [name, doc] of [
  ['conditional', conditional],
  ['bundled', bundled],
]) {
  const model = new IsolationForestModel(doc);
  const t0 = performance.now();
  model.prepareBatchExplanations();
  const buildMs = performance.now() - t0;
  const phi = new Float64Array(rows * 5);
  model.explainRows(test, Math.min(rows, 256), phi); // warm-up
  const times = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    model.explainRows(test, rows, phi);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const table = model.shapTable?.table; // private: read only to report its size
  console.log(
    JSON.stringify({
      model: name,
      columns: 5 + (doc.conditional?.length ?? 0),
      rows,
      usPerRow: Number(((times[1] * 1000) / rows).toFixed(1)),
      tableBuildMs: Math.round(buildMs),
      tableMB: table ? Number(((table.length * 8) / 1e6).toFixed(1)) : null,
    }),
  );
}
