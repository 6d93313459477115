import { badRequest } from '../http-error.js';

/** A positive integer id from JSON or a path/query string; a 400 naming the field otherwise. */
export function positiveId(field: string, value: unknown): number {
  const n =
    typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (value === undefined || value === null || value === '') throw badRequest(field, 'is required');
  if (!Number.isSafeInteger(n) || n < 1)
    throw badRequest(field, `must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

/** An optional integer query parameter in min..max. */
export function intParam(field: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw badRequest(field, `must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  return n;
}

export function boolParam(field: string, value: unknown): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'string' && ['1', 'true', 'yes'].includes(value.toLowerCase())) return true;
  if (typeof value === 'string' && ['0', 'false', 'no'].includes(value.toLowerCase())) return false;
  throw badRequest(field, `must be true or false, got ${JSON.stringify(value)}`);
}

/** Query parameters as plain strings (a repeated parameter keeps its last value). */
export function queryOf(query: unknown): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries((query ?? {}) as Record<string, unknown>))
    out[k] = Array.isArray(v) ? String(v[v.length - 1]) : v === undefined ? undefined : String(v);
  return out;
}
