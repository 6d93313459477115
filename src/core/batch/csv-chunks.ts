import type { Readable } from 'node:stream';
import { SecureflowError } from '../errors.js';
import { parseHeader } from './csv-records.js';
import { countNewlines, firstRecordEnd, lastRecordEnd, loneCrToLf } from './csv-split.js';

export interface CsvChunk {
  header: string[];
  /** Whole records. */
  bytes: Buffer;
  /** File line of the chunk's first byte (the header is line 1). */
  firstLine: number;
}

const REQUIRED: [string, string[]][] = [
  ['amount', ['amount']],
  ['hour', ['hour', 'timestamp']],
  ['day_of_week', ['day_of_week', 'timestamp']],
  ['merchant_category', ['merchant_category', 'category', 'merchant']],
];

/**
 * Reads a CSV stream as chunks of about `chunkBytes` of whole records, after checking its header.
 * Memory holds one chunk and one partial record, whatever the stream's length.
 */
export async function* csvChunks(stream: Readable, file: string, chunkBytes: number, extraColumns: string[] = []): AsyncGenerator<CsvChunk> {
  let pending: Buffer = Buffer.alloc(0);
  let header: string[] | null = null;
  let line = 1;
  let emitted = false;
  const cr = { dropLf: false };
  const emit = (end: number): CsvChunk => {
    const chunk = { header: header!, bytes: pending.subarray(0, end), firstLine: line };
    line += countNewlines(chunk.bytes);
    pending = pending.subarray(end);
    emitted = true;
    return chunk;
  };
  try {
    for await (const raw of stream) {
      const piece = loneCrToLf(raw as Buffer, cr);
      pending = pending.length ? Buffer.concat([pending, piece]) : piece;
      if (!header) {
        const end = firstRecordEnd(pending);
        if (end < 0) continue;
        header = checkHeader(file, pending.subarray(0, end), extraColumns);
        line += countNewlines(pending.subarray(0, end));
        pending = pending.subarray(end);
      }
      if (pending.length < chunkBytes) continue;
      const end = lastRecordEnd(pending);
      if (end > 0) yield emit(end);
    }
  } catch (e) {
    if (e instanceof SecureflowError) throw e;
    throw new SecureflowError('invalid_input', `cannot read ${file}: ${(e as Error).message}`, { file });
  }
  if (!header) {
    if (pending.toString('utf8').trim() === '') {
      throw new SecureflowError('invalid_input', `${file}: the file is empty; expected a header row`, { file });
    }
    // A lone header without a newline: still one (empty) chunk below, so consumers see the header.
    header = checkHeader(file, pending, extraColumns);
    pending = Buffer.alloc(0);
  }
  // A header-only file still yields one (empty) chunk, so that consumers see its header.
  if (pending.length > 0 || !emitted) yield emit(pending.length);
}

/** Parses the header and checks up front that every feature has a column to come from. */
function checkHeader(file: string, bytes: Buffer, extraColumns: string[]): string[] {
  const header = parseHeader(bytes.toString('utf8'));
  const names = new Set(header.map((h) => h.toLowerCase()));
  const missing = REQUIRED.filter(([, sources]) => !sources.some((s) => names.has(s))).map(([f, sources]) =>
    sources.length > 1 ? `${f} (or ${sources.slice(1).join(' or ')})` : f,
  );
  // Matched like the feature columns: case and surrounding spaces do not matter.
  missing.push(...extraColumns.filter((c) => !names.has(c.trim().toLowerCase())));
  if (missing.length > 0) {
    throw new SecureflowError(
      'invalid_input',
      `${file}: line 1: the header has no column for ${missing.join(', ')} (columns: ${header.join(', ') || 'none'})`,
      { file, line: 1, field: missing[0] },
    );
  }
  return header;
}
