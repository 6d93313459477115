// Regenerates src/model/default-model.json from the built-in synthetic generator (deterministic).
import { writeFileSync } from 'node:fs';
import { serializeModel, trainDefaultModel } from '../dist/model/index.js';
const doc = trainDefaultModel();
writeFileSync(new URL('../src/model/default-model.json', import.meta.url), serializeModel(doc));
console.log(`default model ${doc.id}: threshold ${doc.threshold}`);
