import { isUtf8 } from 'node:buffer';
import { SecureflowError } from '../errors.js';

/**
 * Input bytes as UTF-8, whatever the file's encoding: UTF-8 passes through untouched (the fast case);
 * a UTF-16 byte order mark, or an explicit --encoding, decodes the text and encodes it again as UTF-8.
 */
export async function* decodedInput(
  stream: AsyncIterable<Buffer>,
  encoding: string | undefined,
): AsyncGenerator<Buffer> {
  let decoder: TextDecoder | null = encoding && encoding !== 'utf-8' ? new TextDecoder(encoding) : null;
  let first = true;
  for await (const piece of stream) {
    if (first && !decoder && piece.length >= 2) {
      if (piece[0] === 0xff && piece[1] === 0xfe) decoder = new TextDecoder('utf-16le');
      else if (piece[0] === 0xfe && piece[1] === 0xff) decoder = new TextDecoder('utf-16be');
    }
    first = false;
    yield decoder ? Buffer.from(decoder.decode(piece, { stream: true }), 'utf8') : piece;
  }
  if (decoder) {
    const rest = decoder.decode();
    if (rest) yield Buffer.from(rest, 'utf8');
  }
}

/**
 * Refuses bytes that are not UTF-8 rather than read them as U+FFFD: a Latin-1 "é" would otherwise become a
 * different merchant name or an unreadable amount without a word. Names the first bad line and the way out.
 * `bytes` are whole records; `firstLine` is the file line they start on.
 */
export function checkUtf8(bytes: Buffer, file: string, firstLine: number): void {
  if (isUtf8(bytes)) return;
  let line = firstLine;
  for (let start = 0; start < bytes.length; line++) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    const part = bytes.subarray(start, end);
    if (!isUtf8(part)) {
      const bad = firstBadByte(part);
      throw new SecureflowError(
        'invalid',
        `${file}: line ${line}: not valid UTF-8 (byte 0x${bad.toString(16).toUpperCase().padStart(2, '0')}); ` +
          'if the file was exported as Latin-1 or Windows-1252, pass --encoding latin1',
        { file, line, field: 'encoding' },
      );
    }
    start = end + 1;
  }
}

function firstBadByte(part: Buffer): number {
  for (let i = 0; i < part.length; ) {
    const c = part[i];
    const len = c < 0x80 ? 1 : c >> 5 === 6 ? 2 : c >> 4 === 14 ? 3 : c >> 3 === 30 ? 4 : 0;
    if (len === 0 || !isUtf8(part.subarray(i, i + len))) return c;
    i += len;
  }
  return part[part.length - 1];
}
