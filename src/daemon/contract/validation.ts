import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifyRequest, FastifySchemaCompiler } from 'fastify';
import { badRequest } from '../http-error.js';
import { queryOf } from '../routes/params.js';

// Never coerce, strip or default what the routes read: their own checks come first and name the field exactly.
const options = { strict: false, validateSchema: false, verbose: true } as const; // our schemas, typed by TypeBox: no meta-schema pass
const plain = new Ajv({
  ...options,
  allErrors: false,
  coerceTypes: false,
  useDefaults: false,
  removeAdditional: false,
});
// Query and path parameters arrive as strings; they are checked as the numbers and booleans they stand for.
const coercing = new Ajv({
  ...options,
  allErrors: false,
  coerceTypes: true,
  useDefaults: false,
  removeAdditional: false,
});

/** Fastify's validator compiler: Ajv without side effects on the request, compiled on first use (fast start). */
export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart, contentType }) => {
  // A CSV body is parsed, counted and checked row by row as it streams in (csv-body.ts); nothing left to check.
  if (contentType === 'text/csv') return () => true;
  const strings = httpPart === 'querystring' || httpPart === 'params';
  let validate: ValidateFunction | undefined;
  const check = (data: unknown) => {
    validate ??= (strings ? coercing : plain).compile(schema as object);
    // On a copy, as the routes read it (a repeated query parameter counts by its last value): coercion stays here.
    const ok = validate(strings ? queryOf(data) : data);
    check.errors = ok ? null : validate.errors;
    return ok;
  };
  check.errors = null as ErrorObject[] | null | undefined;
  return check;
};

/**
 * Routes validate with attachValidation: their own checks run first and give the field-named messages of the
 * contract; what the schema still refuses after them is refused here, as a 400 naming the field.
 */
export function schemaCheck(request: FastifyRequest): void {
  const error = request.validationError as
    | (Error & { validation?: ErrorObject[]; validationContext?: string })
    | undefined;
  if (!error) return;
  const first = error.validation?.[0];
  const missing =
    first?.keyword === 'required' ? String((first.params as { missingProperty?: string }).missingProperty) : undefined;
  const path =
    first?.instancePath
      .split('/')
      .filter((p) => p !== '')
      .join('.') || undefined;
  const field =
    missing ?? path ?? (error.validationContext === 'querystring' ? 'query' : (error.validationContext ?? 'body'));
  throw badRequest(field, missing ? 'is required' : reason(first));
}

/** In the words the routes' own checks use (params.ts), where the schema says the same thing. */
function reason(error: ErrorObject | undefined): string {
  if (!error) return 'is invalid';
  const got = `got ${JSON.stringify(error.data)?.slice(0, 64)}`;
  const { type, minimum, maximum } = (error.parentSchema ?? {}) as {
    type?: string;
    minimum?: number;
    maximum?: number;
  };
  if (type === 'boolean') return `must be true or false, ${got}`;
  if (type === 'integer' && minimum !== undefined && maximum !== undefined)
    return `must be an integer in ${minimum}..${maximum}, ${got}`;
  return `${error.message ?? 'is invalid'}, ${got}`;
}
