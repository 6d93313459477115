import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  createWriteStream,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  type Stats,
  type WriteStream,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { SecureflowError } from '../core/errors.js';

/**
 * `-o FILE` written safely: results go to a temporary file beside FILE, renamed over it only when the run
 * ends, so a failed run leaves FILE as it was and a reader never sees half a file. An output that is one of
 * the inputs is refused before anything is opened (writing it would empty the input before it is read).
 */
export interface OutputFile {
  stream: WriteStream;
  /** Renames the finished file into place. */
  commit(): Promise<void>;
  /** Removes the temporary file; FILE is untouched. */
  abort(): Promise<void>;
}

export async function openOutputFile(path: string, inputs: readonly string[]): Promise<OutputFile> {
  const target = resolve(path);
  const folder = dirname(target);
  const folderStat = statOrNull(folder);
  if (!folderStat) throw new SecureflowError('not_found', `-o ${path}: the folder ${folder} does not exist`);
  if (!folderStat.isDirectory()) throw new SecureflowError('usage', `-o ${path}: ${folder} is not a folder`);
  const existing = statOrNull(target);
  if (existing?.isDirectory()) throw new SecureflowError('usage', `-o ${path} is a folder: give a file name`);
  for (const input of inputs) {
    if (input === '-') continue;
    const s = statOrNull(input);
    const same =
      s && existing ? s.dev === existing.dev && s.ino === existing.ino : realOrSelf(input) === realOrSelf(target);
    if (same)
      throw new SecureflowError(
        'usage',
        `-o ${path} is also an input: write the results to another file (nothing was changed)`,
      );
  }
  const temp = join(folder, `.${basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  const stream = createWriteStream(temp, { flags: 'wx', mode: existing ? existing.mode & 0o777 : 0o666 });
  try {
    await once(stream, 'open');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SecureflowError('usage', `-o ${path}: cannot write in ${folder}${code ? ` (${code})` : ''}`);
  }
  let settled = false;
  const finish = async (): Promise<void> => {
    if (!stream.closed) {
      stream.end();
      await once(stream, 'close');
    }
  };
  return {
    stream,
    async commit() {
      if (settled) return;
      settled = true;
      await finish();
      renameSync(temp, target);
    },
    async abort() {
      if (settled) return;
      settled = true;
      stream.destroy();
      if (!stream.closed) await once(stream, 'close').catch(() => {});
      try {
        unlinkSync(temp);
      } catch {
        /* already gone */
      }
    },
  };
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}
