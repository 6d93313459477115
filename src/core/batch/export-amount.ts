import type { FieldError } from '../../model/transaction.js';

// A currency symbol, or a three-letter code such as EUR, before or after the number.
const CURRENCY = /^(?:([$€£¥₹]|[A-Za-z]{3})\s?)?([^$€£¥₹A-Za-z]*?)(?:\s?([$€£¥₹]|[A-Za-z]{3}))?$/;
// Thousands groups of three, one kind of separator throughout, then the decimal part.
const POINT = /^(?:\d{1,3}(?:([,'\u00a0\u202f ])\d{3})(?:\1\d{3})*|\d*)(?:\.\d+)?$/;
const COMMA = /^(?:\d{1,3}(?:([.'\u00a0\u202f ])\d{3})(?:\1\d{3})*|\d*)(?:,\d+)?$/;
const PLAIN = /^[0-9.eE+-]*$/;

/**
 * An amount as payment exports write it: `1,250.00`, `$4800`, `€12.50`, `12.50 EUR`, or with `--decimal ,`
 * `1.250,00`. Returns the number, the cell untouched when it is a plain number (read as before), or a
 * field error. Strict on purpose: a separator in the wrong place, two currencies, a sign or accounting
 * parentheses are errors naming the field, never a guess (negative amounts are not scored).
 */
export function readExportAmount(
  cell: string | undefined,
  decimal: '.' | ',',
): string | number | undefined | FieldError {
  if (cell === undefined) return cell;
  const s = cell.trim();
  // Plain numbers, and text with no digit at all, are read (and refused) as before.
  if (s === '' || !/\d/.test(s) || (decimal === '.' && PLAIN.test(s))) return cell;
  const bad = (why: string): FieldError => ({
    field: 'amount',
    reason: `${why}, got ${JSON.stringify(s.length > 40 ? `${s.slice(0, 37)}...` : s)}`,
  });
  if (/^\(.*\)$/.test(s)) return bad('must be >= 0 (parentheses mark a negative amount)');
  if (/^-|^[^0-9]*-/.test(s)) return bad('must be >= 0');
  const m = CURRENCY.exec(s);
  if (!m || (m[1] && m[3]) || !/\d/.test(m[2]))
    return bad('must be a number, optionally with one currency symbol or code (e.g. 1,250.00, $4800, 12.50 EUR)');
  const number = m[2];
  if (decimal === '.') {
    if (POINT.test(number)) return Number(number.replace(/[^0-9.]/g, ''));
    if (number.includes(',') && COMMA.test(number))
      return bad('must use a decimal point (pass --decimal , for decimal commas)');
    return bad('must be a number with thousands grouped by three (e.g. 1,250.00)');
  }
  if (COMMA.test(number)) return Number(number.replace(/[^0-9,]/g, '').replace(',', '.'));
  return bad(
    'must be a number with a decimal comma and thousands grouped by three (e.g. 1.250,00), as --decimal , says',
  );
}
