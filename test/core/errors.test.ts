import { describe, expect, it } from 'vitest';
import {
  ERROR_KINDS,
  EXIT_CLOSED_OUTPUT,
  EXIT_OK,
  exitCodeOf,
  httpStatusOf,
  kindOfStatus,
  SecureflowError,
  type ErrorKind,
} from '../../src/core/errors.js';
import { EXIT_CODE_HELP } from '../../src/cli/exit-codes.js';
import { StoreError } from '../../src/db/shared.js';
import { ModelFormatError } from '../../src/model/model-file.js';
import { UnpackError } from '../../src/executable/unpack.js';

const KINDS = Object.keys(ERROR_KINDS) as ErrorKind[];

describe('ERROR_KINDS: the one table of exit codes and HTTP statuses', () => {
  it('gives every kind an exit code and an HTTP status', () => {
    for (const kind of KINDS) {
      expect(Number.isInteger(exitCodeOf(kind)), kind).toBe(true);
      expect(exitCodeOf(kind), kind).toBeGreaterThan(0);
      expect(exitCodeOf(kind), kind).toBeLessThan(256);
      expect(httpStatusOf(kind), kind).toBeGreaterThanOrEqual(200);
      expect(httpStatusOf(kind), kind).toBeLessThan(600);
    }
  });

  it('keeps the codes and statuses users and callers rely on', () => {
    const table = Object.fromEntries(KINDS.map((k) => [k, [exitCodeOf(k), httpStatusOf(k)]]));
    expect(table).toEqual({
      internal: [1, 500],
      usage: [2, 400],
      invalid: [3, 400],
      not_found: [4, 404],
      conflict: [3, 409],
      model: [5, 500],
      unavailable: [6, 503],
      auth: [7, 401],
      forbidden: [7, 403],
      too_large: [3, 413],
      uri_too_long: [3, 414],
      unsupported_media_type: [3, 415],
      rate_limited: [6, 429],
      anomaly: [10, 200],
      interrupted: [130, 503],
    });
    expect(EXIT_OK).toBe(0);
    expect(EXIT_CLOSED_OUTPUT).toBe(141);
  });

  it('is what --help shows: every exit code is listed there', () => {
    for (const code of [EXIT_OK, EXIT_CLOSED_OUTPUT, ...KINDS.map(exitCodeOf)]) {
      expect(EXIT_CODE_HELP, String(code)).toMatch(new RegExp(`^  ${code} +\\S`, 'm'));
    }
  });

  it('reads a status back as the kind the CLI reports for a daemon answer', () => {
    expect(kindOfStatus(400)).toBe('invalid');
    expect(kindOfStatus(401)).toBe('auth');
    expect(kindOfStatus(403)).toBe('forbidden');
    expect(kindOfStatus(404)).toBe('not_found');
    expect(kindOfStatus(409)).toBe('conflict');
    expect(kindOfStatus(422)).toBe('invalid'); // a 4xx not in the table: the caller's request
    expect(kindOfStatus(429)).toBe('rate_limited');
    expect(kindOfStatus(500)).toBe('internal');
    expect(kindOfStatus(502)).toBe('internal');
    expect(kindOfStatus(503)).toBe('unavailable');
    for (const kind of KINDS) expect(httpStatusOf(kindOfStatus(httpStatusOf(kind))), kind).toBe(httpStatusOf(kind));
  });
});

describe('SecureflowError: the one error type', () => {
  it('carries a kind, a message, details and optional headers', () => {
    const e = new SecureflowError(
      'unavailable',
      'busy',
      { retry_after_seconds: 1 },
      { headers: { 'retry-after': '1' } },
    );
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ kind: 'unavailable', message: 'busy', details: { retry_after_seconds: 1 } });
    expect(e.headers).toEqual({ 'retry-after': '1' });
    expect(new SecureflowError('invalid', 'x').details).toEqual({});
  });

  it('is what the store, the model reader and the unpacker throw, with a kind from the table', () => {
    const store = new StoreError('invalid', 'amount must be a finite number', { field: 'amount' });
    expect(store).toBeInstanceOf(SecureflowError);
    expect(store).toMatchObject({ name: 'StoreError', kind: 'invalid', field: 'amount', details: { field: 'amount' } });
    expect(new StoreError('unavailable', 'x').details).toEqual({});
    expect(new ModelFormatError('not JSON')).toMatchObject({ kind: 'model', name: 'ModelFormatError' });
    expect(new ModelFormatError('not JSON')).toBeInstanceOf(SecureflowError);
    expect(new UnpackError('no folder')).toMatchObject({ kind: 'unavailable' });
    expect(new UnpackError('no folder')).toBeInstanceOf(SecureflowError);
  });
});
