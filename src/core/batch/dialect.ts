import { SecureflowError } from '../errors.js';

/**
 * How a CSV export is written, when it is not written our way: its delimiter, its column names, its
 * decimal mark, its text encoding, and what to do with rows whose features would be derived silently.
 */
export interface CsvDialect {
  /** The field delimiter; undefined: a comma, unless the header shows a semicolon or a tab. */
  delimiter?: string;
  /** Our field name (lower case) -> the export's column name. */
  columns?: Record<string, string>;
  /** The decimal mark of amounts. */
  decimal?: '.' | ',';
  /** A TextDecoder label; undefined: UTF-8 (a UTF-16 byte order mark is honoured). */
  encoding?: string;
  /** Rows with a date-only timestamp or an unknown type name: rejected (default) or scored with a warning. */
  derived?: DerivedRule;
}

export type DerivedRule = 'reject' | 'warn';

/** Fields a --column mapping may name: the features and the legacy and reference columns they can come from. */
export const MAPPABLE = [
  'amount',
  'hour',
  'day_of_week',
  'merchant_category',
  'transaction_type',
  'timestamp',
  'merchant',
  'category',
  'type',
  'id',
  'transaction_id',
  'reference',
];

const DELIMITERS: Record<string, string> = { ',': ',', ';': ';', '|': '|', '\t': '\t', tab: '\t', '\\t': '\t' };

export function parseDelimiter(value: string): string {
  const d = DELIMITERS[value.toLowerCase()];
  if (!d)
    throw new SecureflowError('usage', `--delimiter must be one of , ; | tab, got ${JSON.stringify(value)}`, {
      field: 'delimiter',
    });
  return d;
}

/** `amount=amt` pairs (repeatable) into our field -> their column. */
export function parseColumnMappings(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const ours = eq < 0 ? '' : value.slice(0, eq).trim().toLowerCase();
    const theirs = eq < 0 ? '' : value.slice(eq + 1).trim();
    if (!ours || !theirs)
      throw new SecureflowError(
        'usage',
        `--column must be FIELD=COLUMN (e.g. amount=amt), got ${JSON.stringify(value)}`,
        { field: 'column' },
      );
    if (!MAPPABLE.includes(ours))
      throw new SecureflowError(
        'usage',
        `--column ${value}: ${ours} is not a field secureflow reads (one of ${MAPPABLE.join(', ')})`,
        { field: 'column' },
      );
    if (out[ours] !== undefined)
      throw new SecureflowError('usage', `--column ${ours} is given twice`, { field: 'column' });
    out[ours] = theirs;
  }
  return out;
}

export function parseDecimal(value: string): '.' | ',' {
  if (value === '.' || value === ',') return value;
  throw new SecureflowError('usage', `--decimal must be . or , got ${JSON.stringify(value)}`, { field: 'decimal' });
}

export function parseEncoding(value: string): string {
  try {
    return new TextDecoder(value).encoding;
  } catch {
    throw new SecureflowError(
      'usage',
      `--encoding ${JSON.stringify(value)} is not an encoding this build knows (e.g. utf-8, latin1, windows-1252, utf-16le)`,
      { field: 'encoding' },
    );
  }
}

export function parseDerived(value: string): DerivedRule {
  if (value === 'reject' || value === 'warn') return value;
  throw new SecureflowError('usage', `--derived must be reject or warn, got ${JSON.stringify(value)}`, {
    field: 'derived',
  });
}
