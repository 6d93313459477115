import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { csvChunks, type CsvChunk } from './csv-chunks.js';
import type { CsvDialect } from './dialect.js';
import { carriedNames } from './output-format.js';
import type { ColumnLayout } from './score-chunk.js';

/** One input, opened for reading: its chunks, and the stream to stop reading when the run stops early. */
export interface OpenedInput {
  file: string;
  chunks: AsyncGenerator<CsvChunk>;
  stream: Readable | null;
}

/**
 * A run's inputs. Several inputs make one stream with one header: every input's header is read first (stdin's
 * first chunk is kept for its turn), and each file's columns are placed under the union of them all.
 */
export interface BatchInputs {
  /** The output's carried columns when known before the first chunk (several inputs); else null. */
  union: string[] | null;
  open(path: string): OpenedInput;
  /** Where a file's columns go in the output. */
  layoutOf(header: string[], file: string): ColumnLayout;
}

export async function batchInputs(
  inputs: string[],
  stdin: Readable,
  chunkBytes: number,
  dialect: CsvDialect,
): Promise<BatchInputs> {
  const opened = new Map<string, AsyncGenerator<CsvChunk>>();
  let union: string[] | null = null;
  if (inputs.length > 1) {
    const headers: string[][] = [];
    for (const path of inputs) {
      if (path === '-') {
        const gen = csvChunks(stdin, 'stdin', chunkBytes, [], dialect);
        const first = await gen.next();
        opened.set(path, withFirst(first.done ? undefined : first.value, gen));
        headers.push(first.done ? [] : first.value.header);
      } else headers.push(await readHeader(path, dialect));
    }
    union = unionOf(headers);
  }
  return {
    union,
    open(path) {
      const file = path === '-' ? 'stdin' : path;
      const early = opened.get(path);
      if (early) return { file, chunks: early, stream: null };
      // Reads of at most a chunk: a chunk is all whole records read so far once past chunkBytes, so bigger reads
      // would make bigger chunks.
      const stream = path === '-' ? stdin : createReadStream(path, { highWaterMark: Math.min(chunkBytes, 1 << 20) });
      return { file, chunks: csvChunks(stream, file, chunkBytes, [], dialect), stream };
    },
    layoutOf(header, file) {
      const names = carriedNames(union ?? header);
      if (!union) return { names, positions: null, file };
      const keys = columnKeys(header);
      const positions = Int32Array.from(columnKeys(union), (key) => keys.indexOf(key));
      const same = positions.length === header.length && positions.every((p, i) => p === i);
      return { names, positions: same ? null : positions, file };
    },
  };
}

/** A file's header, read on its own (the file is read again from the start when its turn comes). */
async function readHeader(path: string, dialect: CsvDialect): Promise<string[]> {
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
  try {
    for await (const chunk of csvChunks(stream, path, 1, [], dialect)) return chunk.header;
    return [];
  } finally {
    stream.destroy();
  }
}

/** Two files' columns are the same column when their names match whatever the case (the nth of a repeated name, the nth). */
function columnKeys(header: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return header.map((name) => {
    const lower = name.toLowerCase();
    const n = seen.get(lower) ?? 0;
    seen.set(lower, n + 1);
    return `${lower}\u0000${n}`;
  });
}

/** Every input's columns, in order of first appearance, named as their first file names them. */
function unionOf(headers: readonly string[][]): string[] {
  const keys = new Set<string>();
  const out: string[] = [];
  for (const header of headers) {
    columnKeys(header).forEach((key, i) => {
      if (keys.has(key)) return;
      keys.add(key);
      out.push(header[i]);
    });
  }
  return out;
}

async function* withFirst<T>(first: T | undefined, rest: AsyncGenerator<T>): AsyncGenerator<T> {
  if (first !== undefined) yield first;
  yield* rest;
}
