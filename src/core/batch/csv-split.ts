/**
 * Cutting a CSV byte stream into chunks of whole records, so that chunks can be parsed independently
 * (in worker threads) while memory stays flat. A newline ends a record unless it sits inside quotes;
 * quote parity is enough to tell, because an escaped quote ("") toggles twice.
 */
const QUOTE = 0x22;
const NEWLINE = 0x0a;

/** Index just past the last record-ending newline in `buf`, or -1 if there is none. */
export function lastRecordEnd(buf: Buffer): number {
  if (buf.indexOf(QUOTE) === -1) {
    const i = buf.lastIndexOf(NEWLINE);
    return i === -1 ? -1 : i + 1;
  }
  let inQuotes = false;
  let end = -1;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c === QUOTE) inQuotes = !inQuotes;
    else if (c === NEWLINE && !inQuotes) end = i + 1;
  }
  return end;
}

/** Number of newline bytes in `buf` (physical lines, including those inside quoted fields). */
export function countNewlines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(NEWLINE); i !== -1; i = buf.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

/** Index just past the first record-ending newline in `buf`, or -1 if there is none. */
export function firstRecordEnd(buf: Buffer): number {
  let inQuotes = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c === QUOTE) inQuotes = !inQuotes;
    else if (c === NEWLINE && !inQuotes) return i + 1;
  }
  return -1;
}

const CR = 0x0d;

/**
 * Old Mac files end lines with a lone CR, which the splitter (it cuts at LF) would read as one endless header.
 * A lone CR becomes LF; CRLF is left alone. A piece ending in CR cannot tell yet: its CR becomes LF and
 * `state.dropLf` removes the LF that may open the next piece. Free when a piece holds no CR.
 */
export function loneCrToLf(piece: Buffer, state: { dropLf: boolean }): Buffer {
  if (state.dropLf && piece.length > 0) {
    state.dropLf = false;
    if (piece[0] === NEWLINE) piece = piece.subarray(1);
  }
  let i = piece.indexOf(CR);
  if (i === -1) return piece;
  let copy: Buffer | null = null;
  for (; i !== -1; i = piece.indexOf(CR, i + 1)) {
    if (i === piece.length - 1) state.dropLf = true;
    else if (piece[i + 1] === NEWLINE) continue;
    copy ??= Buffer.from(piece);
    copy[i] = NEWLINE;
  }
  return copy ?? piece;
}
