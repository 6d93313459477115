// What `npm pack` puts in the tarball, and whether the installed package can run from it alone. (The tarball is
// installed for real with `npm install -g` in .ci/run; this checks its contents on every test run.)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../cli/run-cli.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  files: string[];
};
// --ignore-scripts: `npm test` has just built dist/; packing would build it again.
const packed = JSON.parse(
  execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }),
) as {
  files: { path: string; mode: number }[];
  unpackedSize: number;
}[];
const files = packed[0].files.map((f) => f.path);

describe('the npm package', () => {
  it('holds the CLI, the worker, the bundled model, the licence and the README', () => {
    for (const f of [
      'bin/secureflow',
      'dist/app/secureflow.js',
      'dist/app/worker.js',
      'dist/model/default-model.json',
      'LICENSE',
      'README.md',
      'package.json',
    ]) {
      expect(files).toContain(f);
    }
    expect(packed[0].files.find((f) => f.path === 'bin/secureflow')!.mode & 0o111).not.toBe(0);
  });

  it('carries the licences of the libraries bundled into it, all of them permissive', () => {
    expect(files).toContain('dist/app/THIRD-PARTY-NOTICES.md');
    const notices = readFileSync(join(ROOT, 'dist/app/THIRD-PARTY-NOTICES.md'), 'utf8');
    const listed = [...notices.matchAll(/^## (\S+)@\S+ \((.+)\)$/gm)].map((m) => ({ name: m[1], license: m[2] }));
    for (const name of ['commander', 'csv-parse', 'fastify', 'ink', 'pg', 'react', 'undici'])
      expect(listed.map((l) => l.name)).toContain(name);
    // An SPDX "A AND B" (@bufbuild/protobuf: Apache-2.0 AND BSD-3-Clause) is permissive when every term is.
    for (const { name, license } of listed)
      for (const term of license.replace(/^\((.*)\)$/, '$1').split(' AND '))
        expect(term, name).toMatch(/^(MIT|ISC|Apache-2\.0|BSD-[23]-Clause|0BSD|BlueOak-1\.0\.0)$/);
  });

  it('leaves out sources, tests, benchmarks, fixtures and the executable', () => {
    const unwanted = files.filter(
      (f) =>
        /^(src|test|bench|fixtures|scripts|docs|\.ci|\.github)\//.test(f) ||
        /^dist\/(sea|cli|core|db|daemon|secureflow-)/.test(f) ||
        (f.startsWith('dist/model/') && f !== 'dist/model/default-model.json'),
    );
    expect(unwanted).toEqual([]);
    expect(packed[0].unpackedSize).toBeLessThan(12 * 2 ** 20);
  });

  it('finds every chunk the CLI imports inside the package', () => {
    let seen = 0;
    for (const f of files.filter((p) => p.startsWith('dist/app/') && p.endsWith('.js'))) {
      const chunks = [...readFileSync(join(ROOT, f), 'utf8').matchAll(/(?:from|import\()\s*"\.\/([\w-]+\.js)"/g)].map(
        (m) => m[1],
      );
      for (const c of chunks) expect(files, `${f} imports ./${c}`).toContain(`dist/app/${c}`);
      seen += chunks.length;
    }
    expect(seen).toBeGreaterThan(20);
  });

  it('depends only on what the bundle leaves out: each package it imports is a dependency or optional', () => {
    // Optional peers that the bundled code loads inside try/catch or only on request (pg.native, Ink's DEV mode,
    // ws's speedups); the ajv names appear only in code ajv would generate for standalone validators.
    const optional = new Set(['pg-native', 'react-devtools-core', 'bufferutil', 'utf-8-validate']);
    const builtins = new Set(builtinModules);
    const imported = new Set<string>();
    for (const f of files.filter((p) => p.startsWith('dist/app/'))) {
      const text = readFileSync(join(ROOT, f), 'utf8');
      for (const m of text.matchAll(/(?:require\(|from\s*|import\()\s*"([^".][^"]*)"/g)) {
        const name = m[1].startsWith('@') ? m[1].split('/').slice(0, 2).join('/') : m[1].split('/')[0];
        if (
          !name.startsWith('node:') &&
          !builtins.has(name) &&
          !name.startsWith('ajv') &&
          /^[@a-z0-9][\w./@-]*$/.test(name)
        )
          imported.add(name);
      }
    }
    const missing = [...imported].filter((n) => !(n in pkg.dependencies) && !optional.has(n));
    expect(missing).toEqual([]);
    expect(Object.keys(pkg.dependencies)).toEqual(['better-sqlite3']);
  });
});
