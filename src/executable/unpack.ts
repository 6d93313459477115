import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  type Stats,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SecureflowError } from '../core/errors.js';

/** One file the executable carries, written under the unpack directory at `path`. */
export interface PackedFile {
  path: string;
  mode: number;
  read(): Uint8Array;
}

/** Written last into a complete unpack directory: its presence means every other file is there. */
export const COMPLETE_MARKER = '.complete';

/**
 * Where unpacked files may live, best first: SECUREFLOW_CACHE_DIR, the XDG cache, ~/.cache, then a per-user
 * folder in the temporary directory (for accounts without a writable home, such as a container user).
 */
export function cacheRoots(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? 0): string[] {
  if (env.SECUREFLOW_CACHE_DIR) return [env.SECUREFLOW_CACHE_DIR];
  const roots: string[] = [];
  if (env.XDG_CACHE_HOME) roots.push(join(env.XDG_CACHE_HOME, 'secureflow'));
  let home = '';
  try {
    home = homedir();
  } catch {
    // no home directory for this user: the temporary directory below still works
  }
  if (home) roots.push(join(home, '.cache', 'secureflow'));
  roots.push(join(tmpdir(), `secureflow-${uid}`));
  return roots;
}

/** No folder to unpack to: the environment's doing (kind `unavailable`), never a bug. */
export class UnpackError extends SecureflowError {
  override name = 'UnpackError';
  constructor(message: string) {
    super('unavailable', message);
  }
}

/**
 * Makes `<root>/<name>` hold `files`, unpacking them only if no complete copy is there, and returns it.
 * Files go into a fresh temporary folder beside it that is renamed into place, so a crash or a second process
 * unpacking at the same moment never leaves a half-written directory in use. The name carries the content hash:
 * a new build never reuses an old build's files.
 */
export function ensureUnpacked(roots: string[], name: string, files: PackedFile[]): string {
  const reasons: string[] = [];
  for (const root of roots) {
    const dir = join(root, name);
    try {
      // Nothing in a folder is used before the folder is known to be ours alone: in a shared temporary
      // directory another local user could have planted a complete-looking copy (or a symlink to one).
      prepareRoot(root);
      if (privacyProblem(dir) === null && isComplete(dir, files)) return dir;
      unpackInto(root, dir, files);
      return dir;
    } catch (e) {
      reasons.push(
        `${root}: ${e instanceof UnpackError ? e.message : ((e as NodeJS.ErrnoException).code ?? (e as Error).message)}`,
      );
    }
  }
  throw new UnpackError(`cannot unpack its files to any of ${reasons.join('; ')}`);
}

/**
 * The marker, and every file still there: a cleaner of old files in /tmp (systemd-tmpfiles, tmpreaper) may
 * have removed some, such as a command's chunk not used for weeks. About 70 stats, well under a millisecond.
 */
function isComplete(dir: string, files: PackedFile[]): boolean {
  return existsSync(join(dir, COMPLETE_MARKER)) && files.every((f) => existsSync(join(dir, f.path)));
}

/** Why `path` is not a private directory of this user (lstat: a symlink does not count), or null if it is. */
function privacyProblem(path: string): string | null {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return 'missing';
  }
  const uid = process.getuid?.();
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (!st.isDirectory()) return 'not a directory';
  if (uid !== undefined && st.uid !== uid) return `owned by uid ${st.uid}, not ${uid}`;
  if ((st.mode & 0o022) !== 0) return `writable by others (mode ${(st.mode & 0o777).toString(8)})`;
  return null;
}

function prepareRoot(root: string): void {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const problem = privacyProblem(root);
  if (problem) throw new UnpackError(`not a private directory of this user (${problem})`);
}

function unpackInto(root: string, dir: string, files: PackedFile[]): void {
  const staging = mkdtempSync(join(root, '.unpack-'));
  try {
    for (const f of files) {
      const target = join(staging, f.path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, f.read());
      chmodSync(target, f.mode);
    }
    writeFileSync(join(staging, COMPLETE_MARKER), '');
    if (existsSync(dir)) {
      // An incomplete copy (interrupted by hand, or partly deleted), or one not ours alone: move it aside, then
      // replace it. (A complete private one: another process finished first.)
      if (privacyProblem(dir) === null && isComplete(dir, files)) return;
      const stale = mkdtempSync(join(root, '.stale-'));
      renameSync(dir, join(stale, 'old'));
      rmSync(stale, { recursive: true, force: true });
    }
    try {
      renameSync(staging, dir);
    } catch (e) {
      // Another process renamed its complete copy into place first: use that one.
      if (privacyProblem(dir) !== null || !existsSync(join(dir, COMPLETE_MARKER))) throw e;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
