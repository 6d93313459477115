import { SecureflowError, type ErrorKind } from '../core/errors.js';
import { StoreError } from '../db/shared.js';

/** The daemon's one error type: a status, a message for the caller, details naming the field. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const STATUS_OF_KIND: Record<ErrorKind, number> = {
  usage: 400,
  invalid_input: 400,
  not_found: 404,
  model: 500,
  unavailable: 503,
  auth: 401,
  anomaly: 200,
  interrupted: 503,
  internal: 500,
};

/** Core and storage errors as HTTP errors; anything else is a bug (500, logged, its message not shown). */
export function toHttpError(e: unknown, retryAfterSeconds: number): HttpError | null {
  if (e instanceof HttpError) return e;
  if (e instanceof SecureflowError) {
    const status = STATUS_OF_KIND[e.kind];
    return new HttpError(
      status,
      e.message,
      e.details,
      status === 503 ? { 'retry-after': String(retryAfterSeconds) } : {},
    );
  }
  if (e instanceof StoreError) {
    if (e.kind === 'unavailable') return unavailable(retryAfterSeconds);
    return new HttpError(e.kind === 'not_found' ? 404 : 400, e.message, e.field ? { field: e.field } : {});
  }
  return null;
}

/** The database cannot be reached: nothing was stored, try again later. The message never names the database. */
export function unavailable(retryAfterSeconds: number): HttpError {
  return new HttpError(
    503,
    'the database is unavailable; nothing was stored, retry later',
    { retry_after_seconds: retryAfterSeconds },
    {
      'retry-after': String(retryAfterSeconds),
    },
  );
}

export function badRequest(field: string, reason: string): HttpError {
  return new HttpError(400, `${field} ${reason}`, { field, reason });
}
