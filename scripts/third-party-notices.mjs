// Writes the licences of the libraries esbuild bundled into dist/app: the npm package and the executable ship their
// code without their node_modules folders, so their notices travel in this file instead.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Package folders (node_modules/x or node_modules/@s/x, nested ones included) that the bundle's inputs come from. */
function bundledPackages(metafile) {
  const dirs = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) dirs.add(m[1]);
  }
  return [...dirs];
}

export function writeThirdPartyNotices(metafile, outFile) {
  const seen = new Map();
  for (const dir of bundledPackages(metafile)) {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const key = `${pkg.name}@${pkg.version}`;
    if (seen.has(key)) continue;
    const licenceFile = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
    const text =
      licenceFile && existsSync(join(dir, licenceFile)) ? readFileSync(join(dir, licenceFile), 'utf8').trim() : null;
    const license = typeof pkg.license === 'string' ? pkg.license : (pkg.license?.type ?? 'see the package');
    seen.set(key, { key, license, text });
  }
  const entries = [...seen.values()].sort((a, b) => a.key.localeCompare(b.key));
  const body = entries.map(
    (e) =>
      `## ${e.key} (${e.license})\n\n${e.text ?? `No licence file in the package; its package.json declares ${e.license}.`}\n`,
  );
  writeFileSync(
    outFile,
    `# Third-party software bundled into secureflow\n\n${entries.length} packages, bundled by esbuild into dist/app.\n\n${body.join('\n')}`,
  );
  return entries.length;
}
