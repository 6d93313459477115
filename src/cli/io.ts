import type { Readable, Writable } from 'node:stream';

/**
 * The streams a command reads and writes, injected (as GitHub CLI's IOStreams) so that a command runs the same
 * in a terminal, a pipe or a test: a test passes buffers and says whether they are terminals.
 */
export interface IOStreams {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
}

export function systemIO(): IOStreams {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
}

/**
 * The one rule for output formats: what the user asked for, else `tty` when stdout is a terminal (for people),
 * else `pipe` (for programs).
 */
export function resolveFormat<F extends string>(requested: F | undefined, io: IOStreams, tty: F, pipe: F): F {
  return requested ?? (io.stdout.isTTY ? tty : pipe);
}
