/**
 * The one error type of the product: a kind, a message written for the person who can fix the problem, and
 * `details` (the field at fault, a limit, ...). Never carries a stack to users. The kind alone decides the CLI's
 * exit code and the daemon's HTTP status, both read from ERROR_KINDS below; no other table exists.
 */

/**
 * The one table: each kind's exit code (CLI) and HTTP status (daemon). A status maps back to the first kind
 * listed with it (`kindOfStatus`), which is how the CLI reads a daemon's answer: so `invalid` comes before
 * `usage`, `internal` before `model`, `unavailable` before `interrupted`.
 */
export const ERROR_KINDS = {
  /** A bug: the CLI says "internal error ... please report it"; the daemon logs it and hides its message. */
  internal: { exit: 1, status: 500 },
  /** A transaction, CSV row, file or request the product cannot take (the message names the line or field). */
  invalid: { exit: 3, status: 400 },
  /** An unknown command or flag, a bad flag value. */
  usage: { exit: 2, status: 400 },
  not_found: { exit: 4, status: 404 },
  /** A name already taken (a rule, ...): an input error to the CLI, 409 to an HTTP caller. */
  conflict: { exit: 3, status: 409 },
  /** A model file that is not a valid secureflow model. */
  model: { exit: 5, status: 500 },
  /** A database, daemon or folder that cannot be opened or reached, or a server too busy to answer: retry later. */
  unavailable: { exit: 6, status: 503 },
  /** A missing, wrong or revoked API key. */
  auth: { exit: 7, status: 401 },
  /** A key whose role may not do this, or a request the daemon does not answer. */
  forbidden: { exit: 7, status: 403 },
  /** A request body or batch over the daemon's limits. */
  too_large: { exit: 3, status: 413 },
  /** A path (a parameter of it) over the daemon's limit. */
  uri_too_long: { exit: 3, status: 414 },
  unsupported_media_type: { exit: 3, status: 415 },
  /** Over a rate limit: retry later. */
  rate_limited: { exit: 6, status: 429 },
  /** Anomalies found with --fail-on-anomaly or over --max-anomaly-rate. */
  anomaly: { exit: 10, status: 200 },
  /** Ctrl-C (SIGINT) or SIGTERM. */
  interrupted: { exit: 130, status: 503 },
} as const satisfies Record<string, { exit: number; status: number }>;

export type ErrorKind = keyof typeof ERROR_KINDS;

/** Exit codes that are not errors: success, and a reader of stdout that left early (`| head`: 128 + SIGPIPE). */
export const EXIT_OK = 0;
export const EXIT_CLOSED_OUTPUT = 141;

export const exitCodeOf = (kind: ErrorKind): number => ERROR_KINDS[kind].exit;
export const httpStatusOf = (kind: ErrorKind): number => ERROR_KINDS[kind].status;

/** The kind an HTTP error status stands for: the first listed with it, else `invalid` for a 4xx, `internal`. */
export function kindOfStatus(status: number): ErrorKind {
  for (const [kind, row] of Object.entries(ERROR_KINDS)) if (row.status === status) return kind as ErrorKind;
  return status >= 400 && status < 500 ? 'invalid' : 'internal';
}

export interface SecureflowErrorOptions {
  cause?: unknown;
  /** Response headers the daemon sends with it (Retry-After, WWW-Authenticate, Connection: close). */
  headers?: Readonly<Record<string, string>>;
}

export class SecureflowError extends Error {
  override name = 'SecureflowError';
  readonly headers: Readonly<Record<string, string>> | undefined;
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly details: Record<string, unknown> = {},
    options: SecureflowErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.headers = options.headers;
  }
}
