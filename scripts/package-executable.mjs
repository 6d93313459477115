// Builds dist/secureflow-<platform>-<arch>: one executable holding Node itself (the `node` running this
// script), the CLI bundle from dist/app, the bundled model and better-sqlite3 with its native addon.
// It is a Node single executable application: a launcher plus these files as assets, injected with postject.
// Run after `npm run build` (`npm run package` does both). Offline: nothing is downloaded.
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, sep } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { inject } from 'postject';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(join(root, 'package.json'));
const work = join(root, 'dist', 'sea');
const output = join(root, 'dist', `secureflow-${process.platform}-${process.arch}`);
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

if (process.platform !== 'linux') {
  console.warn(`package: skipped: the executable is built and tested on Linux only (this is ${process.platform})`);
  process.exit(0);
}

/** Every file under `dir`, as paths relative to it, in a fixed order. */
function walk(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) =>
      relative(dir, join(e.parentPath ?? e.path, e.name))
        .split(sep)
        .join('/'),
    )
    .sort();
}

/** The files to unpack, as { path (inside the unpack folder), source (on disk) }. The layout mirrors the npm package. */
function collectFiles() {
  const files = [];
  const add = (path, source) => files.push({ path, source });
  for (const f of walk(join(root, 'dist', 'app'))) add(`app/${f}`, join(root, 'dist', 'app', f));
  add('model/default-model.json', join(root, 'dist', 'model', 'default-model.json'));
  add('LICENSE', join(root, 'LICENSE'));
  // better-sqlite3 stays outside the bundle (it finds its addon from its own folder): its JavaScript, the
  // compiled addon for this very Node, and the two small packages it loads the addon with.
  const sqliteDir = dirname(require.resolve('better-sqlite3/package.json'));
  const sqliteRequire = createRequire(join(sqliteDir, 'package.json'));
  const bindingsDir = dirname(sqliteRequire.resolve('bindings/package.json'));
  const fileUriDir = dirname(createRequire(join(bindingsDir, 'package.json')).resolve('file-uri-to-path/package.json'));
  const pkg = (name, dir, paths) => {
    for (const p of paths) add(`node_modules/${name}/${p}`, join(dir, p));
  };
  pkg('better-sqlite3', sqliteDir, [
    'package.json',
    'LICENSE',
    'build/Release/better_sqlite3.node',
    ...walk(join(sqliteDir, 'lib')).map((f) => `lib/${f}`),
  ]);
  pkg('bindings', bindingsDir, ['package.json', 'LICENSE.md', 'bindings.js']);
  pkg('file-uri-to-path', fileUriDir, ['package.json', 'LICENSE', 'index.js']);
  return files;
}

/** The newest glibc and libstdc++ symbol versions the binaries need (objdump from binutils), or null. */
function systemNeeds(binaries) {
  const newest = (prefix) => {
    const versions = binaries.flatMap((b) => {
      const r = spawnSync('objdump', ['-T', b], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
      return r.status === 0 ? [...r.stdout.matchAll(new RegExp(`${prefix}_([0-9.]+)`, 'g'))].map((m) => m[1]) : [];
    });
    return versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1);
  };
  const glibc = newest('GLIBC');
  const cxx = newest('GLIBCXX');
  return glibc ? `glibc ${glibc}+${cxx ? ` and libstdc++ (GLIBCXX_${cxx})` : ''}` : null;
}

async function main() {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });

  // The unpacked app/*.js are ES modules: a package.json beside them says so, as the npm package's does.
  writeFileSync(
    join(work, 'package.json'),
    JSON.stringify({ name: 'secureflow-unpacked', version, type: 'module', private: true }) + '\n',
  );
  const files = [{ path: 'package.json', source: join(work, 'package.json') }, ...collectFiles()];

  const hash = createHash('sha256');
  for (const f of files) hash.update(f.path).update('\0').update(readFileSync(f.source)).update('\0');
  const manifest = {
    format: 'secureflow-executable/1',
    version,
    hash: hash.update(process.version).digest('hex'),
    entry: 'app/secureflow.js',
    files: files.map((f) => ({ path: f.path, mode: f.path.endsWith('.node') ? 0o755 : 0o644 })),
  };
  writeFileSync(join(work, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');

  await build({
    entryPoints: [join(root, 'src', 'executable', 'launcher.ts')],
    outfile: join(work, 'launcher.cjs'),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });

  const assets = { 'manifest.json': join(work, 'manifest.json') };
  for (const f of files) assets[f.path] = f.source;
  const config = {
    main: join(work, 'launcher.cjs'),
    output: join(work, 'sea.blob'),
    disableExperimentalSEAWarning: true,
    useCodeCache: false,
    useSnapshot: false,
    assets,
  };
  writeFileSync(join(work, 'sea-config.json'), JSON.stringify(config, null, 2) + '\n');
  const blob = spawnSync(process.execPath, ['--experimental-sea-config', join(work, 'sea-config.json')], {
    encoding: 'utf8',
  });
  if (blob.status !== 0) throw new Error(`node --experimental-sea-config failed: ${blob.stderr}`);

  // Node's own binary without its symbol tables (12 MiB; native addons link through the dynamic symbols, which stay),
  // then the blob injected into it.
  rmSync(output, { force: true });
  copyFileSync(process.execPath, output);
  chmodSync(output, 0o755);
  const strip = spawnSync('strip', ['--strip-all', output], { stdio: 'inherit' });
  if (strip.error)
    console.warn(`package: strip not available (${strip.error.code}); the executable keeps Node's debug symbols`);
  // postject's ELF library warns about note sections it does not need to read; only those lines are dropped.
  const warn = console.warn;
  console.warn = (...args) => String(args[0]).includes("Can't find string offset for section name") || warn(...args);
  try {
    await inject(output, 'NODE_SEA_BLOB', readFileSync(join(work, 'sea.blob')), {
      sentinelFuse: 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
    });
  } finally {
    console.warn = warn;
  }

  // For whoever downloads it: `sha256sum -c secureflow-linux-x64.sha256` beside the file.
  const digest = createHash('sha256').update(readFileSync(output)).digest('hex');
  writeFileSync(`${output}.sha256`, `${digest}  ${basename(output)}\n`);
  const mib = (statSync(output).size / 2 ** 20).toFixed(1);
  console.log(
    `package: ${relative(root, output)} (${mib} MiB; Node ${process.version}; ${files.length} files, content ${manifest.hash.slice(0, 16)})`,
  );
  const needs = systemNeeds([output, ...files.filter((f) => f.path.endsWith('.node')).map((f) => f.source)]);
  if (needs) console.log(`package: it runs on x64 Linux with ${needs}`);
}

await main();
