import { httpStatusOf, SecureflowError } from '../core/errors.js';
import { StoreError } from '../db/shared.js';

/** What the daemon answers for an error: the status from ERROR_KINDS, the error's headers, its message and details. */
export interface HttpErrorResponse {
  status: number;
  headers: Readonly<Record<string, string>>;
  message: string;
  details: Record<string, unknown>;
}

/**
 * The daemon's boundary: a SecureflowError (any of the product's, the store's included) as an answer, its status
 * from the one table (ERROR_KINDS). A 503 says when to retry unless the error names its own headers.
 */
export function toHttpError(e: SecureflowError, retryAfterSeconds: number): HttpErrorResponse {
  // The store's messages name the database: the daemon says only that it is unavailable.
  const error = e instanceof StoreError && e.kind === 'unavailable' ? unavailable(retryAfterSeconds) : e;
  const status = httpStatusOf(error.kind);
  return {
    status,
    headers: error.headers ?? (status === 503 ? { 'retry-after': String(retryAfterSeconds) } : {}),
    message: error.message,
    details: error.details,
  };
}

/** The database cannot be reached: nothing was stored, try again later. The message never names the database. */
export function unavailable(retryAfterSeconds: number): SecureflowError {
  return new SecureflowError(
    'unavailable',
    'the database is unavailable; nothing was stored, retry later',
    { retry_after_seconds: retryAfterSeconds },
    { headers: { 'retry-after': String(retryAfterSeconds) } },
  );
}

export function badRequest(field: string, reason: string): SecureflowError {
  return new SecureflowError('invalid', `${field} ${reason}`, { field, reason });
}
