// Copies non-TypeScript assets (the bundled model) next to the compiled code.
import { copyFileSync, mkdirSync } from 'node:fs';
mkdirSync(new URL('../dist/model/', import.meta.url), { recursive: true });
copyFileSync(
  new URL('../src/model/default-model.json', import.meta.url),
  new URL('../dist/model/default-model.json', import.meta.url),
);
