import { FEATURES } from '../../model/features.js';

/**
 * The common case, read without allocating: a plain CSV line whose five canonical columns hold plain
 * numbers (integers as bare digits). Returns false whenever anything is unusual (a legacy column, a
 * sign, a space, an out-of-range value, a wrong field count...), and the caller then takes the general
 * path, which gives the same values or the exact error. A test checks both paths agree.
 */
export interface FastReader {
  read(text: string, start: number, end: number, out: Float64Array, offset: number): boolean;
}

const MAX_INT = [Infinity, 23, 6, 2147483647, 2147483647];

export function fastReader(header: string[], delimiter = ','): FastReader | null {
  const separator = delimiter.charCodeAt(0);
  const lower = header.map((h) => h.toLowerCase());
  const columnOf = FEATURES.map((f) => lower.indexOf(f));
  if (columnOf.some((c) => c < 0)) return null;
  const featureAt = new Int8Array(header.length).fill(-1);
  columnOf.forEach((c, j) => {
    featureAt[c] = j;
  });
  const fields = header.length;
  return {
    read(text, start, end, out, offset) {
      let field = 0;
      let cellStart = start;
      for (let i = start; i <= end; i++) {
        if (i < end && text.charCodeAt(i) !== separator) continue; // not a delimiter
        if (field >= fields) return false;
        const j = featureAt[field];
        if (j >= 0) {
          if (i === cellStart) return false;
          if (j === 0) {
            const c = text.charCodeAt(cellStart);
            if (c < 48 || c > 57) return false; // leave signs, spaces, "Infinity" and the like to the general path
            const second = i - cellStart > 1 ? text.charCodeAt(cellStart + 1) | 32 : 0;
            if (second === 120 || second === 98 || second === 111) return false; // 0x, 0b, 0o
            const v = Number(text.slice(cellStart, i));
            if (!(v >= 0 && v < Infinity)) return false;
            out[offset] = v;
          } else {
            let v = 0;
            for (let k = cellStart; k < i; k++) {
              const d = text.charCodeAt(k) - 48;
              if (d < 0 || d > 9) return false;
              v = v * 10 + d;
            }
            if (v > MAX_INT[j] || i - cellStart > 10) return false;
            out[offset + j] = v;
          }
        }
        field++;
        cellStart = i + 1;
      }
      return field === fields;
    },
  };
}
