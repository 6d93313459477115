/**
 * Dates a caller gives to filter by (`since`): ISO-8601 only, years 1..9999. JavaScript's Date takes far more
 * (RFC 2822 text, year 275760) and the backends disagree beyond that range (SQLite compares text, Postgres
 * refuses), so both faces accept exactly this and say so.
 */
import { inStorableRange } from '../db/shared.js';

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/** An ISO-8601 date or date-time (years 1..9999), else null. Without an offset, a time is local (as Date does). */
export function parseIsoDate(text: string): Date | null {
  const m = ISO_DATE.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  // Date rolls 02-30 over to 03-02: check the calendar here.
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeap(year) ? 1 : 0);
  if (
    year < 1 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  )
    return null;
  let iso = text.trim().replace(' ', 'T');
  if (m[7] && /^[+-]\d{4}$/.test(m[7]))
    iso = `${iso.slice(0, -2)}:${iso.slice(-2)}`; // +0100 -> +01:00 for Date
  else if (m[7] && /^[+-]\d{2}$/.test(m[7])) iso = `${iso}:00`;
  const date = new Date(iso);
  return inStorableRange(date) ? date : null;
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** What a caller is told a date must be. */
export const ISO_DATE_RULE =
  'must be an ISO-8601 date or date-time (e.g. 2024-05-01 or 2024-05-01T12:00:00Z) with a year from 1 to 9999';
