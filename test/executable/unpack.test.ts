import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cacheRoots,
  COMPLETE_MARKER,
  ensureUnpacked,
  UnpackError,
  type PackedFile,
} from '../../src/executable/unpack.js';

function packed(reads: string[] = []): PackedFile[] {
  const file = (path: string, text: string, mode = 0o644): PackedFile => ({
    path,
    mode,
    read: () => {
      reads.push(path);
      return new TextEncoder().encode(text);
    },
  });
  return [
    file('package.json', '{"type":"module"}'),
    file('app/main.js', 'export {};'),
    file('native/addon.node', 'ELF', 0o755),
  ];
}

const scratch = () => mkdtempSync(join(tmpdir(), 'secureflow-unpack-'));

describe('where the executable unpacks its files', () => {
  it('prefers SECUREFLOW_CACHE_DIR alone, else the XDG cache, ~/.cache, then a per-user temporary folder', () => {
    expect(cacheRoots({ SECUREFLOW_CACHE_DIR: '/x', XDG_CACHE_HOME: '/y' }, 7)).toEqual(['/x']);
    const roots = cacheRoots({ XDG_CACHE_HOME: '/y' }, 7);
    expect(roots[0]).toBe('/y/secureflow');
    expect(roots.at(-1)).toBe(join(tmpdir(), 'secureflow-7'));
    expect(cacheRoots({}, 7)[0]).toMatch(/\.cache\/secureflow$/);
  });
});

describe('ensureUnpacked', () => {
  it('writes every file with its mode and a completion marker, once', () => {
    const root = scratch();
    const reads: string[] = [];
    const dir = ensureUnpacked([root], '1.0.0-abc', packed(reads));
    expect(dir).toBe(join(root, '1.0.0-abc'));
    expect(readFileSync(join(dir, 'app/main.js'), 'utf8')).toBe('export {};');
    expect(statSync(join(dir, 'native/addon.node')).mode & 0o777).toBe(0o755);
    expect(existsSync(join(dir, COMPLETE_MARKER))).toBe(true);
    expect(reads).toHaveLength(3);
    expect(ensureUnpacked([root], '1.0.0-abc', packed(reads))).toBe(dir);
    expect(reads).toHaveLength(3); // the second run reads nothing
    expect(readdirSync(root)).toEqual(['1.0.0-abc']); // no staging folders left behind
  });

  it('replaces a copy that lacks its marker (interrupted or partly deleted)', () => {
    const root = scratch();
    mkdirSync(join(root, 'v-1', 'app'), { recursive: true });
    writeFileSync(join(root, 'v-1', 'app', 'main.js'), 'truncated');
    const dir = ensureUnpacked([root], 'v-1', packed());
    expect(readFileSync(join(dir, 'app/main.js'), 'utf8')).toBe('export {};');
    expect(readdirSync(root)).toEqual(['v-1']);
  });

  it('unpacks again when a cleaner of old files removed some of a complete copy', () => {
    const root = scratch();
    const reads: string[] = [];
    const dir = ensureUnpacked([root], 'v-5', packed(reads));
    rmSync(join(dir, 'app', 'main.js'));
    expect(ensureUnpacked([root], 'v-5', packed(reads))).toBe(dir);
    expect(readFileSync(join(dir, 'app/main.js'), 'utf8')).toBe('export {};');
    expect(reads).toHaveLength(6);
    expect(readdirSync(root)).toEqual(['v-5']);
  });

  it('uses the copy another process finished first, and cleans up its own', () => {
    const root = scratch();
    const files = packed();
    // While this process writes its files, a second one completes the same folder.
    files[1] = {
      ...files[1],
      read: () => {
        for (const f of ['package.json', 'app/main.js', 'native/addon.node', 'winner']) {
          mkdirSync(dirname(join(root, 'v-2', f)), { recursive: true });
          writeFileSync(join(root, 'v-2', f), '');
        }
        writeFileSync(join(root, 'v-2', COMPLETE_MARKER), '');
        return new TextEncoder().encode('export {};');
      },
    };
    const dir = ensureUnpacked([root], 'v-2', files);
    expect(existsSync(join(dir, 'winner'))).toBe(true);
    expect(readdirSync(root)).toEqual(['v-2']);
  });

  it('falls back to the next folder when one cannot be written, and names every one when none can', () => {
    const base = scratch();
    const blocked = join(base, 'a-file');
    writeFileSync(blocked, '');
    const next = join(base, 'next');
    expect(ensureUnpacked([join(blocked, 'cache'), next], 'v-3', packed())).toBe(join(next, 'v-3'));
    expect(() => ensureUnpacked([join(blocked, 'cache'), join(blocked, 'other')], 'v-3', packed())).toThrow(
      UnpackError,
    );
    expect(() => ensureUnpacked([join(blocked, 'cache')], 'v-3', packed())).toThrow(/a-file\/cache: ENOTDIR/);
  });

  it('refuses a folder in the shared temporary directory that others can write to', () => {
    const shared = scratch();
    chmodSync(shared, 0o777);
    expect(() => ensureUnpacked([shared], 'v-4', packed())).toThrow(/not a private directory/);
  });

  describe('a complete-looking copy planted by someone else is never used', () => {
    /** A folder holding every file and the marker, with a payload in place of the real code. */
    const plant = (dir: string) => {
      for (const f of ['package.json', 'app/main.js', 'native/addon.node', COMPLETE_MARKER]) {
        mkdirSync(dirname(join(dir, f)), { recursive: true });
        writeFileSync(join(dir, f), 'planted');
      }
    };

    it('in a base folder others can write to: refused, the next folder used', () => {
      const shared = scratch();
      plant(join(shared, 'v-6'));
      chmodSync(shared, 0o777);
      const next = join(scratch(), 'next');
      expect(() => ensureUnpacked([shared], 'v-6', packed())).toThrow(
        /not a private directory of this user \(writable by others \(mode 777\)\)/,
      );
      const dir = ensureUnpacked([shared, next], 'v-6', packed());
      expect(dir).toBe(join(next, 'v-6'));
      expect(readFileSync(join(dir, 'app/main.js'), 'utf8')).toBe('export {};');
    });

    it('behind a symbolic link as the base folder: refused', () => {
      const elsewhere = scratch();
      plant(join(elsewhere, 'v-7'));
      const link = join(scratch(), 'secureflow-link');
      symlinkSync(elsewhere, link);
      expect(() => ensureUnpacked([link], 'v-7', packed())).toThrow(
        /not a private directory of this user \(a symbolic link\)/,
      );
    });

    it('as the unpacked folder itself (mode 0777, or a symbolic link): replaced by a fresh private copy', () => {
      const root = scratch();
      plant(join(root, 'v-8'));
      chmodSync(join(root, 'v-8'), 0o777);
      const dir = ensureUnpacked([root], 'v-8', packed());
      expect(readFileSync(join(dir, 'app/main.js'), 'utf8')).toBe('export {};');
      expect(lstatSync(dir).mode & 0o077).toBe(0);

      const elsewhere = scratch();
      plant(join(elsewhere, 'copy'));
      symlinkSync(join(elsewhere, 'copy'), join(root, 'v-9'));
      const fresh = ensureUnpacked([root], 'v-9', packed());
      expect(lstatSync(fresh).isSymbolicLink()).toBe(false);
      expect(readFileSync(join(fresh, 'app/main.js'), 'utf8')).toBe('export {};');
      expect(readFileSync(join(elsewhere, 'copy', 'app/main.js'), 'utf8')).toBe('planted'); // left alone
      expect(readdirSync(root).sort()).toEqual(['v-8', 'v-9']);
    });
  });
});
