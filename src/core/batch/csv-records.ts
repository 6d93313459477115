import { parse } from 'csv-parse/sync';
import { SecureflowError } from '../errors.js';

/**
 * The records of one chunk of CSV, read lazily: a record's cells or text are made only when asked
 * for, so a chunk's records do not all sit on the heap at once (they would outlive the young
 * generation and make garbage collection the biggest cost of scoring a large file).
 */
export interface CsvRows {
  readonly count: number;
  /** The 1-based file line the record starts on. */
  line(i: number): number;
  cells(i: number): string[];
  /** The record as CSV text, ready to be carried through to CSV output. */
  text(i: number): string;
  /** For plain (quote-free) chunks: where each record sits in the chunk's text. */
  readonly plain: { text: string; starts: Int32Array; ends: Int32Array } | null;
}

/**
 * Reads a chunk of whole records starting at file line `firstLine`. A chunk without any quote
 * character is plain comma-and-newline data, split directly (the common case, and about four times
 * faster); anything quoted goes through csv-parse. Empty lines are skipped but counted. A differential
 * test checks that both paths agree.
 */
export function parseRecords(chunk: string, firstLine: number, delimiter = ','): CsvRows {
  return chunk.indexOf('"') === -1 ? plainRows(chunk, firstLine, delimiter) : quotedRows(chunk, firstLine, delimiter);
}

function plainRows(chunk: string, firstLine: number, delimiter: string): CsvRows {
  let capacity = 1024;
  let starts: Int32Array<ArrayBuffer> = new Int32Array(capacity);
  let ends: Int32Array<ArrayBuffer> = new Int32Array(capacity);
  let lines: Int32Array<ArrayBuffer> = new Int32Array(capacity);
  let count = 0;
  let line = firstLine;
  for (let pos = 0; pos < chunk.length; line++) {
    let end = chunk.indexOf('\n', pos);
    if (end === -1) end = chunk.length;
    let stop = end;
    if (stop > pos && chunk.charCodeAt(stop - 1) === 13) stop--; // CRLF
    if (stop > pos) {
      if (count === capacity) {
        capacity *= 2;
        starts = grow(starts, capacity);
        ends = grow(ends, capacity);
        lines = grow(lines, capacity);
      }
      starts[count] = pos;
      ends[count] = stop;
      lines[count++] = line;
    }
    pos = end + 1;
  }
  const cells = (i: number): string[] => chunk.slice(starts[i], ends[i]).split(delimiter);
  return {
    count,
    line: (i) => lines[i],
    cells,
    // Output CSV is always comma-separated: another delimiter's records are written again.
    text: delimiter === ',' ? (i) => chunk.slice(starts[i], ends[i]) : (i) => cells(i).map(csvEscape).join(','),
    plain: { text: chunk, starts, ends },
  };
}

function grow(a: Int32Array, capacity: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(capacity);
  b.set(a);
  return b;
}

function quotedRows(chunk: string, firstLine: number, delimiter: string): CsvRows {
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parse(chunk, { delimiter, relax_column_count: true, skip_empty_lines: true, info: true }) as unknown as typeof rows;
  } catch (e) {
    // Broken quoting leaves no reliable record boundaries after it: stop with the line, rather than guess.
    const err = e as Error & { lines?: number };
    const line = firstLine + (err.lines ?? 1) - 1;
    throw new SecureflowError('invalid_input', `line ${line}: malformed CSV: ${err.message.replace(/ at line \d+.*$/, '')}`, { line, field: 'row' });
  }
  const lines = rows.map(({ record, info }) => {
    // csv-parse reports the line a record ends on; a record spanning lines starts earlier.
    let embedded = 0;
    for (const cell of record) for (let i = cell.indexOf('\n'); i !== -1; i = cell.indexOf('\n', i + 1)) embedded++;
    return firstLine + info.lines - 1 - embedded;
  });
  return {
    count: rows.length,
    line: (i) => lines[i],
    cells: (i) => rows[i].record,
    text: (i) => rows[i].record.map(csvEscape).join(','),
    plain: null,
  };
}

export function csvEscape(cell: string): string {
  return /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

/** Parses a header line (it may be quoted) into column names; a UTF-8 byte order mark is dropped. */
export function parseHeader(text: string, delimiter = ','): string[] {
  const clean = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const rows = parse(clean, { delimiter, relax_column_count: true, skip_empty_lines: true }) as string[][];
  return (rows[0] ?? []).map((name) => name.trim());
}
