import { SecureflowError } from '../errors.js';
import { parseHeader } from './csv-records.js';
import { checkUtf8, decodedInput } from './decode-input.js';
import type { CsvDialect } from './dialect.js';
import { countNewlines, firstRecordEnd, lastRecordEnd, loneCrToLf } from './csv-split.js';

export interface CsvChunk {
  header: string[];
  /** The header as fields are read from it: --column mappings applied (see fieldNames). */
  fields: string[];
  /** The file's field delimiter (given, or detected from its header). */
  delimiter: string;
  /** Whole records, UTF-8. */
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
export async function* csvChunks(
  stream: AsyncIterable<Buffer>,
  file: string,
  chunkBytes: number,
  extraColumns: string[] = [],
  dialect?: CsvDialect,
): AsyncGenerator<CsvChunk> {
  let pending: Buffer = Buffer.alloc(0);
  let header: Header | null = null;
  let line = 1;
  let emitted = false;
  // With a dialect (secureflow score), bytes are decoded first and text that is not UTF-8 is refused.
  const input = dialect ? decodedInput(stream, dialect.encoding) : stream;
  const check = (bytes: Buffer, at: number): void => {
    if (dialect) checkUtf8(bytes, file, at);
  };
  const cr = { dropLf: false };
  const emit = (end: number): CsvChunk => {
    const chunk = { ...header!, bytes: pending.subarray(0, end), firstLine: line };
    check(chunk.bytes, line);
    line += countNewlines(chunk.bytes);
    pending = pending.subarray(end);
    emitted = true;
    return chunk;
  };
  try {
    for await (const raw of input) {
      const piece = loneCrToLf(raw as Buffer, cr);
      pending = pending.length ? Buffer.concat([pending, piece]) : piece;
      if (!header) {
        const end = firstRecordEnd(pending);
        if (end < 0) continue;
        check(pending.subarray(0, end), 1);
        header = checkHeader(file, pending.subarray(0, end), extraColumns, dialect);
        line += countNewlines(pending.subarray(0, end));
        pending = pending.subarray(end);
      }
      if (pending.length < chunkBytes) continue;
      const end = lastRecordEnd(pending);
      if (end > 0) yield emit(end);
    }
  } catch (e) {
    if (e instanceof SecureflowError) throw e;
    throw new SecureflowError('invalid', `cannot read ${file}: ${(e as Error).message}`, { file });
  }
  if (!header) {
    if (pending.toString('utf8').trim() === '') {
      throw new SecureflowError('invalid', `${file}: the file is empty; expected a header row`, { file });
    }
    // A lone header without a newline: still one (empty) chunk below, so consumers see the header.
    check(pending, 1);
    header = checkHeader(file, pending, extraColumns, dialect);
    pending = Buffer.alloc(0);
  }
  // A header-only file still yields one (empty) chunk, so that consumers see its header.
  if (pending.length > 0 || !emitted) yield emit(pending.length);
}

interface Header {
  header: string[];
  fields: string[];
  delimiter: string;
}

/** Parses the header and checks up front that every feature has a column to come from. */
function checkHeader(file: string, bytes: Buffer, extraColumns: string[], given?: CsvDialect): Header {
  const dialect = given ?? {};
  const text = bytes.toString('utf8');
  const delimiter = dialect.delimiter ?? detectDelimiter(text);
  const header = parseHeader(text, delimiter);
  const fields = fieldNames(file, header, dialect.columns ?? {});
  const names = new Set(fields.map((h) => h.toLowerCase()));
  const missing = REQUIRED.filter(([, sources]) => !sources.some((s) => names.has(s))).map(([f, sources]) =>
    sources.length > 1 ? `${f} (or ${sources.slice(1).join(' or ')})` : f,
  );
  // Matched like the feature columns: case and surrounding spaces do not matter.
  missing.push(...extraColumns.filter((c) => !names.has(c.trim().toLowerCase())));
  if (missing.length > 0) {
    // Hints name flags only secureflow score has (it passes a dialect; training and the daemon do not).
    const hint = !given
      ? ''
      : header.length === 1 && dialect.delimiter === undefined
        ? '; if the file is not comma-separated, pass --delimiter'
        : '; name yours with --column FIELD=COLUMN';
    throw new SecureflowError(
      'invalid',
      `${file}: line 1: the header has no column for ${missing.join(', ')} (columns: ${header.join(', ') || 'none'})${hint}`,
      { file, line: 1, field: missing[0] },
    );
  }
  return { header, fields, delimiter };
}

/** A header that reads as one column holding semicolons, tabs or pipes is a file separated by them. */
function detectDelimiter(text: string): string {
  const columns = (d: string): number => {
    try {
      return parseHeader(text, d).length;
    } catch {
      return 0; // quoting that does not fit this delimiter
    }
  };
  if (columns(',') > 1) return ',';
  // The candidate that splits the header into the most columns (ties: in this order).
  let best = ',';
  let most = 1;
  for (const d of [';', '\t', '|']) {
    const n = columns(d);
    if (n > most) [best, most] = [d, n];
  }
  return best;
}

/**
 * The names fields are read under: the header, with each --column mapping's column renamed to our field. A
 * column already named like a mapped field is hidden (a NUL-prefixed name matches nothing), so that the mapping
 * alone decides where the field comes from. A mapped column that is not there is a header error naming both.
 */
function fieldNames(file: string, header: string[], columns: Record<string, string>): string[] {
  const fields = header.slice();
  for (const [ours, theirs] of Object.entries(columns)) {
    const at = header.findIndex((h) => h.toLowerCase() === theirs.toLowerCase());
    if (at < 0) {
      throw new SecureflowError(
        'invalid',
        `${file}: line 1: --column ${ours}=${theirs}: the header has no column ${JSON.stringify(theirs)} to read ${ours} from (columns: ${header.join(', ') || 'none'})`,
        { file, line: 1, field: ours },
      );
    }
    if (fields[at] !== header[at] && !fields[at].startsWith('\u0000')) {
      throw new SecureflowError(
        'usage',
        `--column ${ours}=${theirs}: column ${JSON.stringify(header[at])} is already read as ${fields[at]}`,
        { field: ours },
      );
    }
    fields.forEach((f, i) => {
      if (i !== at && f.toLowerCase() === ours) fields[i] = `\u0000${f}`;
    });
    fields[at] = ours;
  }
  return fields;
}
