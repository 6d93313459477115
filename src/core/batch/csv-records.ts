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
  /** Where each record sits in the chunk's text; `quoted[i]` is 1 for a record with quotes (null: none has). */
  readonly plain: { text: string; starts: Int32Array; ends: Int32Array; quoted: Uint8Array | null };
}

/**
 * Reads a chunk of whole records starting at file line `firstLine`. Records are found in one pass; a record
 * without a quote character is split directly (the common case, and about four times faster than a general
 * parser), a quoted one by a small RFC 4180 reader, only when its cells are asked for. Empty lines are skipped
 * but counted. A differential test checks both against csv-parse.
 */
export function parseRecords(chunk: string, firstLine: number, delimiter = ','): CsvRows {
  let capacity = 1024;
  let starts: Int32Array<ArrayBuffer> = new Int32Array(capacity);
  let ends: Int32Array<ArrayBuffer> = new Int32Array(capacity);
  let lines: Int32Array<ArrayBuffer> = new Int32Array(capacity);
  let quoted: Uint8Array<ArrayBuffer> | null = null;
  let count = 0;
  let line = firstLine;
  let nextQuote = chunk.indexOf('"');
  for (let pos = 0; pos < chunk.length; ) {
    let end = chunk.indexOf('\n', pos);
    if (end === -1) end = chunk.length;
    if (nextQuote !== -1 && nextQuote < pos) nextQuote = chunk.indexOf('"', pos);
    const hasQuote = nextQuote !== -1 && nextQuote < end;
    let spanned = 0; // newlines inside quoted cells
    if (hasQuote) {
      let inQuotes = false;
      let i = nextQuote;
      for (; i < chunk.length; i++) {
        const c = chunk.charCodeAt(i);
        if (c === 34) inQuotes = !inQuotes;
        else if (c === 10) {
          if (!inQuotes) break;
          spanned++;
        }
      }
      end = i;
    }
    let stop = end;
    if (stop > pos && chunk.charCodeAt(stop - 1) === 13) stop--; // CRLF
    if (stop > pos) {
      if (count === capacity) {
        capacity *= 2;
        starts = grow(starts, capacity);
        ends = grow(ends, capacity);
        lines = grow(lines, capacity);
        if (quoted) quoted = growBytes(quoted, capacity);
      }
      if (hasQuote) {
        quoted ??= new Uint8Array(capacity);
        quoted[count] = 1;
      }
      starts[count] = pos;
      ends[count] = stop;
      lines[count++] = line;
    }
    line += 1 + spanned;
    pos = end + 1;
  }
  const cells = (i: number): string[] =>
    quoted && quoted[i]
      ? quotedCells(chunk.slice(starts[i], ends[i]), delimiter, lines[i])
      : chunk.slice(starts[i], ends[i]).split(delimiter);
  return {
    count,
    line: (i) => lines[i],
    cells,
    // Output CSV is always comma-separated and quoted only where needed: other records are written again.
    text:
      delimiter === ','
        ? (i) => (quoted && quoted[i] ? cells(i).map(csvEscape).join(',') : chunk.slice(starts[i], ends[i]))
        : (i) => cells(i).map(csvEscape).join(','),
    plain: { text: chunk, starts, ends, quoted },
  };
}

function grow(a: Int32Array, capacity: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(capacity);
  b.set(a);
  return b;
}

function growBytes(a: Uint8Array, capacity: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(capacity);
  b.set(a);
  return b;
}

/**
 * The cells of one quoted record (RFC 4180: "" is a quote inside quotes; quoted cells may hold delimiters and
 * line breaks). Strict as csv-parse is by default: a quote inside an unquoted cell, text after a closing quote,
 * or a quote never closed stops the run at that line (no reliable record boundaries after it, so no guessing).
 */
function quotedCells(text: string, delimiter: string, line: number): string[] {
  const malformed = (why: string) =>
    new SecureflowError('invalid', `line ${line}: malformed CSV: ${why}`, { line, field: 'row' });
  const cells: string[] = [];
  const n = text.length;
  for (let i = 0; ; ) {
    let next: number;
    if (text.charCodeAt(i) === 34) {
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q === -1) throw malformed(`a quoted field is not closed (field ${cells.length + 1})`);
        if (text.charCodeAt(q + 1) === 34) {
          value += text.slice(j, q + 1);
          j = q + 2;
          continue;
        }
        value += text.slice(j, q);
        next = q + 1;
        break;
      }
      cells.push(value);
      if (next < n && text[next] !== delimiter) throw malformed(`text after a closing quote (field ${cells.length})`);
    } else {
      next = text.indexOf(delimiter, i);
      if (next === -1) next = n;
      const cell = text.slice(i, next);
      if (cell.includes('"')) throw malformed(`a quote inside an unquoted field (field ${cells.length + 1})`);
      cells.push(cell);
    }
    if (next >= n) return cells;
    i = next + 1;
    if (i === n) {
      cells.push(''); // a delimiter at the end: an empty last cell
      return cells;
    }
  }
}

export function csvEscape(cell: string): string {
  return /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

/** Parses a header line (it may be quoted) into column names; a UTF-8 byte order mark is dropped. */
export function parseHeader(text: string, delimiter = ','): string[] {
  const clean = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let rows: string[][];
  try {
    rows = parse(clean, { delimiter, relax_column_count: true, skip_empty_lines: true }) as string[][];
  } catch (e) {
    // A broken header (an unclosed quote...) is the caller's file at fault, not ours.
    throw new SecureflowError(
      'invalid',
      `line 1: malformed CSV header: ${(e as Error).message.replace(/ at line \d+.*$/, '')}`,
      { line: 1, field: 'header' },
    );
  }
  return (rows[0] ?? []).map((name) => name.trim());
}
