import { parse } from 'csv-parse/sync';

/** One CSV record and the 1-based line of the file it starts on. */
export interface CsvRecord {
  line: number;
  cells: string[];
  /** The record's text as read, when it needs no re-quoting (no quote characters in the chunk). */
  text: string | null;
}

/**
 * Parses a chunk of whole records starting at file line `firstLine`. A chunk without any quote
 * character is plain comma-and-newline data, which is split directly (the common case, and about
 * four times faster); anything quoted goes through csv-parse. Empty lines are skipped but counted.
 * A differential test checks that both paths agree.
 */
export function parseRecords(chunk: string, firstLine: number): CsvRecord[] {
  return chunk.indexOf('"') === -1 ? splitPlain(chunk, firstLine) : parseQuoted(chunk, firstLine);
}

function splitPlain(chunk: string, firstLine: number): CsvRecord[] {
  const out: CsvRecord[] = [];
  let line = firstLine;
  let pos = 0;
  while (pos < chunk.length) {
    let end = chunk.indexOf('\n', pos);
    if (end === -1) end = chunk.length;
    let stop = end;
    if (stop > pos && chunk.charCodeAt(stop - 1) === 13) stop--; // CRLF
    if (stop > pos) {
      const text = chunk.slice(pos, stop);
      out.push({ line, cells: text.split(','), text });
    }
    line++;
    pos = end + 1;
  }
  return out;
}

function parseQuoted(chunk: string, firstLine: number): CsvRecord[] {
  const out: CsvRecord[] = [];
  const rows = parse(chunk, {
    relax_column_count: true,
    skip_empty_lines: true,
    info: true,
  }) as unknown as { record: string[]; info: { lines: number } }[];
  for (const { record, info } of rows) {
    // csv-parse reports the line a record ends on; a record spanning lines starts earlier.
    let embedded = 0;
    for (const cell of record) for (let i = cell.indexOf('\n'); i !== -1; i = cell.indexOf('\n', i + 1)) embedded++;
    out.push({ line: firstLine + info.lines - 1 - embedded, cells: record, text: null });
  }
  return out;
}

/** Parses a header line (it may be quoted) into column names; a UTF-8 byte order mark is dropped. */
export function parseHeader(text: string): string[] {
  const clean = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const rows = parse(clean, { relax_column_count: true, skip_empty_lines: true }) as string[][];
  return (rows[0] ?? []).map((name) => name.trim());
}
