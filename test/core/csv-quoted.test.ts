/** The quoted-record reader against csv-parse: same cells and start lines on random quoted CSV, same refusals. */
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { parseRecords } from '../../src/core/batch/csv-records.js';
import { createRandom } from '../../src/model/random.js';

const PIECES = ['a', '12.50', '', ' ', ',', ';', '\t', '"', '""', '\n', '\r\n', 'é', '€', 'x y'];

describe('quoted records', () => {
  it('agree with csv-parse on random records (delimiters, quotes, line breaks inside cells, CRLF, empty lines)', () => {
    const rng = createRandom(11);
    for (const delimiter of [',', ';', '\t']) {
      for (let round = 0; round < 200; round++) {
        const records: string[] = [];
        const count = 1 + rng.nextInt(6);
        for (let r = 0; r < count; r++) {
          const cells = Array.from({ length: 1 + rng.nextInt(5) }, () => {
            const raw = Array.from({ length: rng.nextInt(4) }, () => PIECES[rng.nextInt(PIECES.length)]).join('');
            const needs =
              raw.includes('"') ||
              raw.includes(delimiter) ||
              raw.includes('\n') ||
              raw.includes('\r') ||
              rng.nextFloat() < 0.3;
            return needs ? `"${raw.replace(/"/g, '""')}"` : raw;
          });
          records.push(cells.join(delimiter));
          if (rng.nextFloat() < 0.1) records.push(''); // an empty line
        }
        const eol = rng.nextFloat() < 0.5 ? '\n' : '\r\n';
        const text = records.join(eol) + (rng.nextFloat() < 0.5 ? eol : '');
        const expected = parse(text, { delimiter, relax_column_count: true, skip_empty_lines: true }) as string[][];
        const rows = parseRecords(text, 2, delimiter);
        const got = Array.from({ length: rows.count }, (_, i) => ({ cells: rows.cells(i), line: rows.line(i) }));
        expect(
          got.map((g) => g.cells),
          JSON.stringify(text),
        ).toEqual(expected);
        // A record's line is the file line of its first byte (the chunk starts on line 2).
        got.forEach((g, i) => {
          expect(g.line).toBe(2 + text.slice(0, rows.plain.starts[i]).split('\n').length - 1);
        });
        // Written out again as comma CSV, each record reads back to the same cells.
        for (let i = 0; i < rows.count; i++)
          expect(parse(rows.text(i), { relax_column_count: true })[0] ?? [''], JSON.stringify(text)).toEqual(
            got[i].cells,
          );
      }
    }
  });

  it('refuses what csv-parse refuses, naming the line the record starts on', () => {
    for (const [text, why] of [
      ['1,2\na,b"c,1\n', 'a quote inside an unquoted field (field 2)'],
      ['1,2\n"a"b,1\n', 'text after a closing quote (field 1)'],
      ['1,2\n"open,1\n', 'a quoted field is not closed (field 1)'],
    ]) {
      expect(() => parse(text, { relax_column_count: true })).toThrow();
      const rows = parseRecords(text, 5);
      expect(rows.cells(0)).toEqual(['1', '2']);
      expect(() => rows.cells(1)).toThrow(`line 6: malformed CSV: ${why}`);
    }
  });
});
