import type { FastifyTypeProvider } from 'fastify';
import { Type, type Static, type TSchema } from 'typebox';
import * as S from './shapes.js';
import { ruleRouteSchemas } from './rule-routes.js';

/**
 * Each route's schema: what @fastify/swagger publishes at /api/openapi.json, what Fastify validates requests
 * against (after the routes' own checks, which name the field: see validation.ts) and serialises answers with.
 */
const errors = { '4xx': S.ErrorBody, '5xx': S.ErrorBody };
const keyed: { [scheme: string]: string[] }[] = [{ bearer: [] }, { apiKey: [] }];
const int = (description: string, minimum: number, maximum: number) =>
  Type.Optional(Type.Integer({ description, minimum, maximum }));
const flag = (description: string) => Type.Optional(Type.Boolean({ description }));
const scalar = (description: string) => Type.Optional(Type.Union([Type.Number(), Type.String()], { description }));

/** One transaction: the five features, or the original system's legacy fields (amount, timestamp, merchant, type). */
const TransactionInput = Type.Object(
  {
    amount: scalar('Amount (a number, or a decimal string)'),
    hour: scalar('0..23 (or give timestamp)'),
    day_of_week: scalar('0 (Monday)..6 (or give timestamp)'),
    merchant_category: scalar('Merchant category code (or give merchant)'),
    transaction_type: scalar('Transaction type code (or give type)'),
    timestamp: Type.Optional(Type.String({ description: 'Legacy: ISO-8601 time, gives hour and day_of_week' })),
    merchant: Type.Optional(Type.String({ description: 'Legacy: merchant name, gives merchant_category' })),
    type: scalar('Legacy: purchase, transfer, ... gives transaction_type'),
    reference: Type.Optional(Type.String({ maxLength: 256, description: "The caller's id, echoed back" })),
    id: scalar("Legacy: the caller's id, as reference"),
  },
  { ...S.open, description: 'Canonical or legacy transaction; the route names any field it cannot read' },
);

const schemas = {
  health: {
    summary: 'Liveness: 200 while the process can serve (degraded without its database)',
    response: { 200: S.Health, ...errors },
  },
  ready: {
    summary: 'Readiness: 503 while writes would fail',
    response: { 200: S.Ready, 503: S.Ready, '4xx': S.ErrorBody },
  },
  metrics: {
    summary: 'Prometheus metrics',
    response: { 200: { content: { 'text/plain': { schema: Type.String() } } } },
  },
  warmup: {
    summary: 'Builds the explanation tables and checks the database',
    security: keyed,
    response: { 200: S.Warmup, ...errors },
  },
  predict: {
    summary: 'Scores, explains and stores one transaction',
    security: keyed,
    querystring: Type.Object({ store: flag('false: score without storing (transaction_id null)') }, S.open),
    body: TransactionInput,
    response: { 200: S.PredictResult, ...errors },
  },
  predictBatch: {
    summary:
      'Scores many transactions (JSON or CSV); a row that cannot be read is an {index, error} result, not a failure',
    security: keyed,
    querystring: Type.Object(
      {
        explain: flag('false: no Shapley values (faster)'),
        store: flag('false: do not store'),
        strict: flag('CSV: stop at the first row that cannot be read'),
      },
      S.open,
    ),
    body: {
      content: {
        'application/json': {
          schema: Type.Union([
            Type.Object(
              { transactions: Type.Array(Type.Unknown(), { description: 'Transactions as for /api/predict' }) },
              S.open,
            ),
            Type.Array(Type.Unknown()),
          ]),
        },
        'text/csv': {
          schema: Type.String({
            description: 'A header row naming the features (or legacy columns), then one transaction a line',
          }),
        },
      },
    },
    response: { 200: S.BatchResult, ...errors },
  },
  login: {
    summary:
      'Logs a user in: a token for Authorization: Bearer, with their role. A wrong username or password is the same 401; limited per username and address (429)',
    body: Type.Object(
      {
        username: Type.String({ description: 'As given to `secureflow users add` (case does not matter)' }),
        password: Type.String(),
      },
      S.open,
    ),
    response: { 200: S.LoginResult, ...errors },
  },
  refresh: {
    summary: "A new token for the bearer of a user's valid token (same user and role, a fresh lifetime)",
    security: [{ bearer: [] }],
    response: { 200: S.LoginResult, ...errors },
  },
  feedback: {
    summary: "An analyst's verdict on a scored transaction; a second one replaces the first (kept as history)",
    security: keyed,
    body: Type.Object(
      {
        transaction_id: Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^\\s*\\d+\\s*$' })]),
        feedback: Type.Optional(Type.Boolean({ description: 'true: the verdict was right' })),
        is_correct: Type.Optional(Type.Boolean({ description: 'Same as feedback' })),
        comments: Type.Optional(S.Nullable(Type.String())),
        notes: Type.Optional(S.Nullable(Type.String({ description: 'Same as comments' }))),
      },
      S.open,
    ),
    response: { 200: S.FeedbackResult, ...errors },
  },
  dashboard: {
    summary: 'Aggregates over the last days',
    security: keyed,
    querystring: Type.Object(
      {
        days: int('Window in days (7)', 1, 3650),
        buckets: int('Throughput buckets (48)', 1, 1000),
        flagged: int('Recent flagged rows (10)', 0, 100),
      },
      S.open,
    ),
    response: { 200: S.Dashboard, ...errors },
  },
  transactions: {
    summary: 'Stored transactions, newest first, a page at a time',
    security: keyed,
    querystring: Type.Object(
      {
        page: int('Page (1)', 1, 1_000_000),
        per_page: int('Rows a page (20)', 1, 1000),
        limit: int('Rows (overrides per_page)', 1, 1000),
        offset: int('Rows to skip (overrides page)', 0, Number.MAX_SAFE_INTEGER),
        since: Type.Optional(Type.String({ description: 'ISO-8601 date or time' })),
        anomalies: flag('true: flagged only; false: normal only'),
        batch_id: Type.Optional(Type.String()),
      },
      S.open,
    ),
    response: { 200: S.TransactionPage, ...errors },
  },
  transaction: {
    summary: 'One stored transaction with its explanation and feedback',
    security: keyed,
    params: Type.Object({ id: Type.Integer({ minimum: 1 }) }),
    response: { 200: S.TransactionDetail, ...errors },
  },
  openapi: {
    summary: 'This document (OpenAPI 3)',
    response: {
      200: Type.Object(
        {
          openapi: Type.String(),
          info: Type.Object({ title: Type.String(), version: Type.String(), description: Type.String() }),
          paths: Type.Object({}, S.open),
          components: Type.Object({}, S.open),
        },
        S.open,
      ),
    },
  },
};

export const routeSchemas = { ...schemas, ...ruleRouteSchemas };

/**
 * Types each handler's answer from its response schema. Request parts stay unknown: the validator checks a copy
 * (query strings are not coerced in place), so the routes read them through params.ts, never as the schema's types.
 */
export interface ContractTypes extends FastifyTypeProvider {
  validator: unknown;
  serializer: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
}
