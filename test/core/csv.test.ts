import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { parseRecords } from '../../src/core/batch/csv-records.js';
import { countNewlines, firstRecordEnd, lastRecordEnd } from '../../src/core/batch/csv-split.js';
import { fastReader } from '../../src/core/batch/fast-reader.js';
import { createRandom } from '../../src/model/random.js';
import { readTransaction } from '../../src/model/transaction.js';

const rows = (text: string, first = 2) => {
  const r = parseRecords(text, first);
  return Array.from({ length: r.count }, (_, i) => ({ line: r.line(i), cells: r.cells(i) }));
};

describe('CSV chunks', () => {
  it('the quote-free fast path agrees with csv-parse, with LF or CRLF and empty lines', () => {
    for (const eol of ['\n', '\r\n']) {
      const text = ['1,2,3', '', '4,5,6', '7,,9', 'x,y', '', ''].join(eol);
      const viaCsvParse = parse(text, { relax_column_count: true, skip_empty_lines: true }) as string[][];
      expect(rows(text).map((r) => r.cells)).toEqual(viaCsvParse);
      expect(rows(text).map((r) => r.line)).toEqual([2, 4, 5, 6]);
    }
  });

  it('quoted chunks go through csv-parse and keep the line a record starts on', () => {
    const text = '"a,b",1\n"multi\nline",2\nplain,3\n';
    expect(rows(text)).toEqual([
      { line: 2, cells: ['a,b', '1'] },
      { line: 3, cells: ['multi\nline', '2'] },
      { line: 5, cells: ['plain', '3'] },
    ]);
  });

  it('cuts chunks only at record ends, never inside quotes', () => {
    const buf = Buffer.from('a,b\n"x\ny",1\nlast,2');
    expect(firstRecordEnd(buf)).toBe(4);
    expect(lastRecordEnd(buf)).toBe(buf.indexOf('last'));
    expect(lastRecordEnd(Buffer.from('"open\nquote'))).toBe(-1);
    expect(countNewlines(buf)).toBe(3);
  });
});

describe('the allocation-free canonical reader', () => {
  const header = ['merchant_category', 'amount', 'note', 'hour', 'transaction_type', 'day_of_week'];
  const reader = fastReader(header)!;
  const general = (cells: string[], out: Float64Array) => {
    const get = (name: string) => {
      const i = header.indexOf(name);
      return i < 0 ? undefined : cells[i];
    };
    return readTransaction(get, out, 0);
  };

  it('is only used when every canonical column is present', () => {
    expect(fastReader(['amount', 'hour', 'day_of_week', 'merchant_category'])).toBeNull();
  });

  it('agrees with the general reader on every row it accepts, and declines the rest', () => {
    const rng = createRandom(5);
    const good = ['0', '1', '2', '5', '6', '12.75', '007', '1e3', '5.'];
    const odd = ['23', '24', '-1', '1.5', '', ' 3', '3 ', 'x', '0x1', '99999999999', 'Infinity', '+4', '.5', '7'];
    const pick = () => (rng.nextFloat() < 0.85 ? good[rng.nextInt(good.length)] : odd[rng.nextInt(odd.length)]);
    let accepted = 0;
    for (let n = 0; n < 5000; n++) {
      const cells = header.map((_, i) => (i === 2 ? 'note' : pick()));
      const line = cells.join(',');
      const fast = new Float64Array(5);
      const slow = new Float64Array(5);
      const took = reader.read(line, 0, line.length, fast, 0);
      const error = general(cells, slow);
      if (took) {
        accepted++;
        expect(error).toBeNull();
        expect(fast).toEqual(slow);
      }
    }
    expect(accepted).toBeGreaterThan(200);
    expect(reader.read('1,2,x,3,0', 0, 9, new Float64Array(5), 0)).toBe(false); // too few fields
    expect(reader.read('1,2,x,3,0,1,9', 0, 13, new Float64Array(5), 0)).toBe(false); // too many
  });
});
