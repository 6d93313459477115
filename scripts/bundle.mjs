// Bundles the CLI and the batch worker into dist/app/ with esbuild: one file to load at start-up instead of
// dozens of ES modules (which cost ~40 ms of a single-transaction run). Commands stay lazily loaded chunks.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';
import { writeThirdPartyNotices } from './third-party-notices.mjs';

// Chunk names carry content hashes: clear the old ones so dist/ holds only this build.
rmSync('dist/app', { recursive: true, force: true });

const result = await build({
  entryPoints: { secureflow: 'src/cli/run.ts', worker: 'src/core/batch/worker.ts' },
  outdir: 'dist/app',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: '[name]-[hash]', // beside the entries: code locates the model (../model/) and worker (./worker.js) from import.meta.url
  // commander is CommonJS; its require() of Node built-ins needs a real require in an ES module bundle.
  banner: {
    js: "import { createRequire as __sfCreateRequire } from 'node:module'; const require = __sfCreateRequire(import.meta.url);",
  },
  // better-sqlite3 stays in node_modules: it locates its native addon from its own path. Everything else is
  // bundled (pg included; pg-native, its optional addon, is never loaded), so the npm package depends on it alone.
  // react-devtools-core: Ink imports it only under DEV=true; it is not installed.
  external: ['better-sqlite3', 'pg-native', 'react-devtools-core'],
  logLevel: 'warning',
  metafile: true,
});
writeThirdPartyNotices(result.metafile, 'dist/app/THIRD-PARTY-NOTICES.md');
