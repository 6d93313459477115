import { FEATURES, FEATURE_COUNT, TRANSACTION_TYPE_NAMES, type FeatureName } from './features.js';

/** A transaction in the model's canonical shape. */
export interface CanonicalTransaction {
  amount: number;
  hour: number;
  day_of_week: number;
  merchant_category: number;
  transaction_type: number;
}

/** Why a transaction could not be read: the field at fault and a reason a person can act on. */
export interface FieldError {
  field: string;
  reason: string;
}

/**
 * Told about a value that had to be derived rather than read (a date-only timestamp's hour, an unknown type
 * name's hashed code); returns an error to reject the row, or null to accept it.
 */
export type DerivedCheck = (note: FieldError) => FieldError | null;

/** Reads a named field of one input record (a JSON object, a CSV row...). `undefined` when absent. */
export type FieldGetter = (name: string) => unknown;

const REFERENCE_FIELDS = ['id', 'transaction_id', 'reference'];
const MAX_INTEGER_CODE = 2 ** 31 - 1;

/**
 * Stable 32-bit FNV-1a hash of a string's UTF-8 bytes. Used for legacy `merchant`/`category`/`type`
 * strings, so a code is the same in every process and on every machine (the original used Python's
 * per-process randomised `hash()`).
 */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function isBlank(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value !== 'string') return false;
  return (
    value.length === 0 ||
    ((value.charCodeAt(0) <= 32 || value.charCodeAt(value.length - 1) <= 32) && value.trim() === '')
  );
}

/** Numbers or numeric strings (CSV cells are strings) in decimal notation; anything else is a field error. */
function toNumber(field: string, value: unknown): number | FieldError {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string') {
    n = Number(value); // fast, and trims; hex, binary and octal forms are refused just below
    const second = value.length > 1 ? value.charCodeAt(1) | 32 : 0;
    if (Number.isNaN(n) || second === 120 || second === 98 || second === 111) {
      return { field, reason: `must be a number, got ${JSON.stringify(clip(value))}` };
    }
  } else return { field, reason: `must be a number, got ${describe(value)}` };
  if (!Number.isFinite(n)) return { field, reason: 'must be a finite number' };
  return n;
}

function toInteger(field: string, value: unknown, min: number, max: number): number | FieldError {
  const n = toNumber(field, value);
  if (typeof n !== 'number') return n;
  if (!Number.isInteger(n)) return { field, reason: `must be an integer, got ${n}` };
  if (n < min || n > max) {
    return {
      field,
      reason: max === MAX_INTEGER_CODE ? `must be >= ${min}, got ${n}` : `must be in ${min}..${max}, got ${n}`,
    };
  }
  return n;
}

/** A legacy code: a non-negative integer is taken as is (mod `modulo`); any other text is hashed. */
function legacyCode(field: string, value: unknown, modulo: number): number | FieldError {
  // Only text and numbers name a merchant or type: an object or array is a caller's mistake, not a code.
  if (typeof value !== 'string' && typeof value !== 'number')
    return { field, reason: `must be a string or a number, got ${describe(value)}` };
  const s = typeof value === 'string' ? value.trim() : String(value);
  if (/^\d{1,15}$/.test(s)) return Number(s) % modulo;
  return fnv1a32(s) % modulo;
}

/** Longest `reference` (or `id`/`transaction_id`) accepted: it is stored and shown, never a payload. */
export const MAX_REFERENCE_LENGTH = 256;
// C0/C1 controls (NUL included, which Postgres refuses) and lone UTF-16 surrogates (not valid UTF-8).
const BAD_REFERENCE_CHAR = /[\u0000-\u001f\u007f-\u009f]|\p{Cs}/u;

/** The reference fields, if given, are short plain text or a number. */
function checkReference(get: FieldGetter): FieldError | null {
  for (const field of REFERENCE_FIELDS) {
    const v = get(field);
    if (isBlank(v)) continue;
    if (typeof v === 'number') continue;
    if (typeof v !== 'string') return { field, reason: `must be a string or a number, got ${describe(v)}` };
    if (v.trim().length > MAX_REFERENCE_LENGTH)
      return { field, reason: `must be at most ${MAX_REFERENCE_LENGTH} characters, got ${v.trim().length}` };
    if (BAD_REFERENCE_CHAR.test(v))
      return { field, reason: 'must not contain control characters (NUL included) or unpaired surrogates' };
  }
  return null;
}

const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Hour and weekday of an ISO-8601 timestamp, as written: a timestamp without an offset is read as UTC,
 * one with an offset keeps its own wall-clock time (as Python's `datetime.fromisoformat` did).
 */
export function parseTimestamp(value: unknown): { hour: number; dayOfWeek: number; dateOnly?: boolean } | FieldError {
  if (typeof value !== 'string')
    return { field: 'timestamp', reason: `must be an ISO-8601 string, got ${describe(value)}` };
  const m = ISO_TIMESTAMP.exec(value.trim());
  if (!m) return { field: 'timestamp', reason: `must be an ISO-8601 date-time, got ${JSON.stringify(clip(value))}` };
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  const minute = m[5] === undefined ? 0 : Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const date = new Date(Date.UTC(year, month - 1, day));
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 60
  ) {
    return { field: 'timestamp', reason: `is not a valid date-time: ${JSON.stringify(clip(value))}` };
  }
  // JavaScript's Sunday = 0; Python's weekday() has Monday = 0.
  const dayOfWeek = (date.getUTCDay() + 6) % 7;
  // A date without a time reads as midnight; said, so that callers can refuse or flag it (--derived).
  return m[4] === undefined ? { hour, dayOfWeek, dateOnly: true } : { hour, dayOfWeek };
}

/**
 * Reads one transaction, canonical or legacy or a mix, into `out[offset..offset+5)` in FEATURES order.
 * Canonical fields win; legacy ones fill the gaps. Returns the first field error, or null.
 */
export function readTransaction(
  get: FieldGetter,
  out: Float64Array,
  offset: number,
  derived?: DerivedCheck,
): FieldError | null {
  const amountRaw = get('amount');
  if (isBlank(amountRaw)) return { field: 'amount', reason: 'is required' };
  const amount = toNumber('amount', amountRaw);
  if (typeof amount !== 'number') return amount;
  if (amount < 0) return { field: 'amount', reason: `must be >= 0, got ${amount}` };
  out[offset] = amount;

  const hourRaw = get('hour');
  const dayRaw = get('day_of_week');
  let timestamp: { hour: number; dayOfWeek: number; dateOnly?: boolean } | null = null;
  if (isBlank(hourRaw) || isBlank(dayRaw)) {
    const ts = get('timestamp');
    if (!isBlank(ts)) {
      const parsed = parseTimestamp(ts);
      if ('field' in parsed) return parsed;
      timestamp = parsed;
    }
  }
  if (!isBlank(hourRaw)) {
    const v = toInteger('hour', hourRaw, 0, 23);
    if (typeof v !== 'number') return v;
    out[offset + 1] = v;
  } else if (timestamp) {
    if (timestamp.dateOnly && derived) {
      const error = derived({
        field: 'timestamp',
        reason: `${JSON.stringify(clip(String(get('timestamp')).trim()))} has no time of day: its hour reads as 0`,
      });
      if (error) return error;
    }
    out[offset + 1] = timestamp.hour;
  } else return { field: 'hour', reason: 'is required (or give a timestamp)' };

  if (!isBlank(dayRaw)) {
    const v = toInteger('day_of_week', dayRaw, 0, 6);
    if (typeof v !== 'number') return v;
    out[offset + 2] = v;
  } else if (timestamp) out[offset + 2] = timestamp.dayOfWeek;
  else return { field: 'day_of_week', reason: 'is required (or give a timestamp)' };

  const mcRaw = get('merchant_category');
  if (!isBlank(mcRaw)) {
    const v = toInteger('merchant_category', mcRaw, 0, MAX_INTEGER_CODE);
    if (typeof v !== 'number') return v;
    out[offset + 3] = v;
  } else {
    const legacy = !isBlank(get('category')) ? get('category') : get('merchant');
    if (isBlank(legacy)) return { field: 'merchant_category', reason: 'is required (or give category or merchant)' };
    const code = legacyCode(isBlank(get('category')) ? 'merchant' : 'category', legacy, 10);
    if (typeof code !== 'number') return code;
    out[offset + 3] = code;
  }

  const ttRaw = get('transaction_type');
  if (!isBlank(ttRaw)) {
    const v = toInteger('transaction_type', ttRaw, 0, MAX_INTEGER_CODE);
    if (typeof v !== 'number') return v;
    out[offset + 4] = v;
  } else {
    const legacy = get('type');
    if (isBlank(legacy)) out[offset + 4] = 0;
    else {
      const named = typeof legacy === 'string' ? TRANSACTION_TYPE_NAMES.indexOf(legacy.trim().toLowerCase()) : -1;
      const code = named >= 0 ? named : legacyCode('type', legacy, 3);
      if (typeof code !== 'number') return code;
      const text = String(legacy).trim();
      if (named < 0 && derived && !/^\d{1,15}$/.test(text)) {
        const error = derived({
          field: 'type',
          reason: `${JSON.stringify(clip(text))} is not purchase, withdrawal or transfer: it hashes to ${TRANSACTION_TYPE_NAMES[code]}`,
        });
        if (error) return error;
      }
      out[offset + 4] = code;
    }
  }
  return checkReference(get);
}

/** The caller's own reference (`id`, `transaction_id` or `reference`), echoed back; null when absent. */
export function readReference(get: FieldGetter): string | null {
  for (const name of REFERENCE_FIELDS) {
    const v = get(name);
    if (!isBlank(v) && (typeof v === 'string' || typeof v === 'number')) return String(v).trim();
  }
  return null;
}

/** Normalises one JSON transaction. Throws nothing: a field error comes back as a value. */
export function normalizeTransaction(
  input: unknown,
):
  | { ok: true; transaction: CanonicalTransaction; features: Float64Array; reference: string | null }
  | { ok: false; error: FieldError } {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return { ok: false, error: { field: 'transaction', reason: `must be a JSON object, got ${describe(input)}` } };
  }
  const record = input as Record<string, unknown>;
  const get: FieldGetter = (name) => (Object.hasOwn(record, name) ? record[name] : undefined);
  const features = new Float64Array(FEATURE_COUNT);
  const error = readTransaction(get, features, 0);
  if (error) return { ok: false, error };
  const transaction = Object.fromEntries(FEATURES.map((f, j) => [f, features[j]])) as Record<FeatureName, number>;
  return { ok: true, transaction, features, reference: readReference(get) };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(clip(value));
  return `${typeof value} ${String(value)}`;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
