// The entry point of the single executable (Node's single executable application). Node runs an embedded
// script as CommonJS that may load only built-in modules, so the launcher unpacks the same files `npm install`
// gives (the CLI bundle, the model, better-sqlite3 and its native addon) into a per-user cache folder keyed by
// their content hash, once, and imports the CLI from there: every command then runs exactly the code the npm
// package runs, worker threads and the native addon included.
import { getAsset } from 'node:sea';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { exitCodeOf } from '../core/errors.js';
import { cacheRoots, ensureUnpacked, UnpackError, type PackedFile } from './unpack.js';

/** Written by scripts/package-executable.mjs as the asset `manifest.json`. */
export interface ExecutableManifest {
  format: 'secureflow-executable/1';
  version: string;
  hash: string;
  entry: string;
  files: { path: string; mode: number }[];
}

async function launch(): Promise<void> {
  const manifest = JSON.parse(getAsset('manifest.json', 'utf8')) as ExecutableManifest;
  const files: PackedFile[] = manifest.files.map((f) => ({ ...f, read: () => new Uint8Array(getAsset(f.path)) }));
  let dir: string;
  try {
    dir = ensureUnpacked(cacheRoots(), `${manifest.version}-${manifest.hash.slice(0, 16)}`, files);
  } catch (e) {
    if (!(e instanceof UnpackError)) throw e;
    process.stderr.write(`secureflow: ${e.message}\nSet SECUREFLOW_CACHE_DIR to a writable directory.\n`);
    process.exit(exitCodeOf(e.kind));
  }
  await import(pathToFileURL(join(dir, manifest.entry)).href);
}

void launch();
