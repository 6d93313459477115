/**
 * The one error type of the core: a kind (mapped to an exit code by the CLI and to an HTTP status by the
 * daemon) and a message written for the person who can fix the problem. Never carries a stack to users.
 */
export type ErrorKind =
  | 'usage'
  | 'invalid_input'
  | 'not_found'
  | 'model'
  | 'unavailable'
  | 'auth'
  | 'anomaly'
  | 'interrupted'
  | 'internal';

export class SecureflowError extends Error {
  override name = 'SecureflowError';
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
