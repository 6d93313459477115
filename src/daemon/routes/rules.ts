import { actorName } from '../auth.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseSince } from '../../cli/arguments.js';
import { SecureflowError } from '../../core/errors.js';
import { backtestStored, type BacktestResult } from '../../core/rules/backtest.js';
import { backtestReport } from '../../core/rules/backtest-report.js';
import { checkRuleAction, checkRuleName, RULE_ACTIONS } from '../../core/rules/decide.js';
import { compileExpression, type CompiledExpression } from '../../core/rules/rule-expression.js';
import type { RiskRuleUpdate } from '../../db/store.js';
import type { RouteContext } from '../app.js';
import { routeSchemas, type ContractTypes } from '../contract/routes.js';
import { schemaCheck } from '../contract/validation.js';
import { Semaphore } from '../auth-limits.js';
import { badRequest } from '../http-error.js';

/** Longest description a rule keeps (the schema says the same). */
const MAX_DESCRIPTION = 2000;
const DEFAULT_SINCE = '30d';
/**
 * Backtests read every stored row of their window (~30 µs a row: half a minute for 1M rows): one runs at a time,
 * a few wait their turn, and past those the caller is told to retry (429) rather than queueing work without end.
 */
const BACKTESTS_AT_ONCE = 1;
const BACKTESTS_WAITING = 4;
const BACKTEST_RETRY_SECONDS = 10;

/**
 * Risk rules over HTTP (issue 15), the CLI's `rules` commands as routes: list and show for any reading role, add,
 * change and remove for admins (each change in the rule's history with the caller's name), and backtests over the
 * stored traffic with the figures `rules test --since` gives.
 */
export function ruleRoutes(untyped: FastifyInstance, { db }: RouteContext): void {
  const app = untyped.withTypeProvider<ContractTypes>(); // handlers' answers are checked against the schemas
  const backtests = new Semaphore(BACKTESTS_AT_ONCE, BACKTESTS_WAITING);

  app.get('/api/rules', { schema: routeSchemas.rules, config: { permission: 'read' } }, async (request) => {
    schemaCheck(request);
    const rules = await db.run((s) => s.listRules());
    return { rules, total: rules.length };
  });

  app.post('/api/rules', { schema: routeSchemas.ruleAdd, config: { permission: 'admin' } }, async (request, reply) => {
    const b = objectBody(request.body, 'a JSON object {name, expression, action, description}', [
      'name',
      'expression',
      'when',
      'action',
      'description',
    ]);
    if (b.name === undefined) throw badRequest('name', 'is required');
    if (typeof b.name !== 'string') throw badRequest('name', `must be a string, got ${brief(b.name)}`);
    checkRuleName(b.name);
    const expression = expressionOf(b);
    if (!expression) throw badRequest('expression', 'is required (or when): a CEL expression, e.g. amount > 3000');
    const action = actionOf(b.action);
    if (action === undefined) throw badRequest('action', `is required: one of ${RULE_ACTIONS.join(', ')}`);
    const description = descriptionOf(b.description) ?? null;
    schemaCheck(request);
    const rule = await db.run((s) =>
      s.addRule({ name: b.name as string, expression: expression.source, action, description }, changedBy(request)),
    );
    reply.status(201);
    return rule;
  });

  app.get('/api/rules/:name', { schema: routeSchemas.rule, config: { permission: 'read' } }, async (request) => {
    const name = nameParam(request);
    schemaCheck(request);
    const { rule, history } = await db.run(async (s) => ({
      rule: await s.getRule(name),
      history: await s.ruleHistory(name),
    }));
    if (!rule && history.length === 0) notFound(name);
    return { rule, history };
  });

  app.patch(
    '/api/rules/:name',
    { schema: routeSchemas.ruleUpdate, config: { permission: 'admin' } },
    async (request) => {
      const name = nameParam(request);
      const b = objectBody(request.body, 'a JSON object {enabled, expression, action, description}', [
        'name',
        'enabled',
        'expression',
        'when',
        'action',
        'description',
      ]);
      if (b.name !== undefined && b.name !== name)
        throw badRequest('name', 'cannot be changed: remove the rule and add it under the new name');
      const update: RiskRuleUpdate = {};
      if (b.enabled !== undefined) {
        if (typeof b.enabled !== 'boolean')
          throw badRequest('enabled', `must be true or false, got ${brief(b.enabled)}`);
        update.enabled = b.enabled;
      }
      const expression = expressionOf(b);
      if (expression) update.expression = expression.source;
      const action = actionOf(b.action);
      if (action !== undefined) update.action = action;
      const description = descriptionOf(b.description);
      if (description !== undefined) update.description = description;
      if (Object.keys(update).length === 0)
        throw badRequest('body', 'must change something: give enabled, expression, action or description');
      schemaCheck(request);
      const rule = await db.run((s) => s.updateRule(name, update, changedBy(request)));
      if (!rule) notFound(name);
      return rule;
    },
  );

  // DELETE has no body, but some clients send `Content-Type: application/json` with every request: here (an
  // encapsulated plugin, as for /api/warmup) an empty JSON body is taken as none; a non-empty one is still parsed.
  untyped.register(async (scoped) => {
    const json = scoped.getDefaultJsonParser('error', 'error');
    scoped.removeContentTypeParser('application/json');
    scoped.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body: string, done) => {
      if (body === '') done(null, undefined);
      else json(request, body, done);
    });
    scoped
      .withTypeProvider<ContractTypes>()
      .delete(
        '/api/rules/:name',
        { schema: routeSchemas.ruleRemove, config: { permission: 'admin' } },
        async (request) => {
          const name = nameParam(request);
          schemaCheck(request);
          const rule = await db.run((s) => s.removeRule(name, changedBy(request)));
          if (!rule) notFound(name);
          return rule;
        },
      );
  });

  app.post('/api/rules/test', { schema: routeSchemas.rulesTest, config: { permission: 'read' } }, async (request) => {
    const b = objectBody(request.body, 'a JSON object {name} or {expression}, and since', [
      'name',
      'expression',
      'when',
      'since',
    ]);
    if (b.name !== undefined && typeof b.name !== 'string')
      throw badRequest('name', `must be a string, got ${brief(b.name)}`);
    const expression = expressionOf(b);
    if (b.name !== undefined && expression)
      throw badRequest('name', 'give a stored rule (name) or an expression, not both');
    if (b.name === undefined && !expression)
      throw badRequest('name', 'is required: a stored rule, or give expression (a CEL expression) instead');
    if (b.since !== undefined && typeof b.since !== 'string')
      throw badRequest('since', `must be a string like 30d, got ${brief(b.since)}`);
    const sinceText = (b.since as string | undefined) ?? DEFAULT_SINCE;
    const since = parseSince(sinceText);
    if (!since)
      throw badRequest(
        'since',
        `must be like 7d, 24h, 30m or an ISO-8601 date (years 1 to 9999), got ${brief(sinceText)}`,
      );
    schemaCheck(request);
    let rule = null;
    if (b.name !== undefined) {
      rule = await db.run((s) => s.getRule(b.name as string));
      if (!rule) notFound(b.name as string);
    }
    const compiled = expression ?? compileExpression(rule!.expression);
    const release = await backtests.acquire();
    if (!release)
      throw new SecureflowError(
        'rate_limited',
        `${BACKTESTS_AT_ONCE + BACKTESTS_WAITING} backtests are running or waiting: retry in ${BACKTEST_RETRY_SECONDS} s`,
        { retry_after_seconds: BACKTEST_RETRY_SECONDS },
        { headers: { 'retry-after': String(BACKTEST_RETRY_SECONDS) } },
      );
    let result: BacktestResult;
    try {
      result = await db.run((s) => backtestStored(compiled, s, since));
    } finally {
      release();
    }
    const report = backtestReport({
      rule,
      expression: compiled,
      testedOn: { stored_since: since.toISOString() },
      modelVersion: null,
      result,
    });
    return { ...report, tested_on: report.tested_on as { stored_since: string } };
  });
}

/**
 * Who made a change, for the rule's history: `key:NAME` for an API key (the form verdicts use, beside users' own
 * names, which have no `:`); "anonymous" where the daemon takes requests without keys (--no-auth, or a loopback
 * daemon where no key was ever made).
 */
/** Who made a change: the user, `key:NAME` for an API key, or `anonymous` on a daemon without keys or users. */
function changedBy(request: FastifyRequest): string {
  return actorName(request.principal) ?? 'anonymous';
}

function notFound(name: string): never {
  throw new SecureflowError('not_found', `no rule named ${brief(name)}`, { field: 'name' });
}

const brief = (value: unknown) => JSON.stringify(value)?.slice(0, 80) ?? String(value);

function nameParam(request: FastifyRequest): string {
  return (request.params as { name: string }).name;
}

/** The body as an object whose every field this route reads: a misspelt field is refused, never ignored. */
function objectBody(body: unknown, what: string, fields: readonly string[]): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('body', `must be ${what}`);
  for (const field of Object.keys(body))
    if (!fields.includes(field)) throw badRequest(field, `is not a field here: give ${fields.join(', ')}`);
  return body as Record<string, unknown>;
}

/**
 * The expression given as `expression` or `when` (the CLI's flag), compiled; a refusal names the field the caller
 * used, with the line, column and reason (details.position, details.reason). Undefined when neither is given.
 */
function expressionOf(b: Record<string, unknown>): CompiledExpression | undefined {
  if (b.expression !== undefined && b.when !== undefined)
    throw badRequest('when', 'is the same as expression: give one of them');
  const field = b.when !== undefined ? 'when' : 'expression';
  const source = b[field];
  if (source === undefined) return undefined;
  if (typeof source !== 'string') throw badRequest(field, `must be a string, got ${brief(source)}`);
  try {
    return compileExpression(source);
  } catch (e) {
    if (!(e instanceof SecureflowError) || field === 'expression') throw e;
    throw new SecureflowError('invalid', e.message.replace(/^expression\b/, field), { ...e.details, field });
  }
}

function actionOf(value: unknown): (typeof RULE_ACTIONS)[number] | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw badRequest('action', `must be one of ${RULE_ACTIONS.join(', ')}, got ${brief(value)}`);
  checkRuleAction(value);
  return value;
}

/** A description: text (blank: none) or null to clear it; undefined when not given. */
function descriptionOf(value: unknown): string | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'string') throw badRequest('description', `must be a string or null, got ${brief(value)}`);
  if (value.length > MAX_DESCRIPTION)
    throw badRequest('description', `must be at most ${MAX_DESCRIPTION} characters, got ${value.length}`);
  return value.trim() === '' ? null : value;
}
