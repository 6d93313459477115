import { Type } from 'typebox';
import * as R from './rule-shapes.js';
import * as S from './shapes.js';

/** The risk-rule routes' schemas (routes/rules.ts), published with the others (routes.ts). */
const errors = { '4xx': S.ErrorBody, '5xx': S.ErrorBody };
const keyed: { [scheme: string]: string[] }[] = [{ bearer: [] }, { apiKey: [] }];
const closed = { additionalProperties: false } as const;
const RuleName = Type.String({ description: '1 to 64 letters, digits, _, - or ., starting with a letter or digit' });
const Expression = Type.String({ description: 'A CEL expression, e.g. amount > 3000 && hour < 5' });
const When = Type.String({ description: 'Same as expression (the CLI flag --when)' });
const Description = S.Nullable(Type.String({ maxLength: 2000 }));
const NameParam = Type.Object({ name: Type.String() });

export const ruleRouteSchemas = {
  rules: {
    summary: 'Risk rules, by name',
    security: keyed,
    response: { 200: R.RuleList, ...errors },
  },
  ruleAdd: {
    summary: 'Adds a rule, enabled (admin); a bad expression is refused (400) with its line, column and reason',
    security: keyed,
    body: Type.Object(
      {
        name: RuleName,
        expression: Type.Optional(Expression),
        when: Type.Optional(When),
        action: R.RuleAction,
        description: Type.Optional(Description),
      },
      { ...closed, description: 'expression or when, not both' },
    ),
    response: { 201: R.RiskRule, ...errors },
  },
  rule: {
    summary: 'A rule and its history (every change, who made it and when; a removed rule keeps its history)',
    security: keyed,
    params: NameParam,
    response: { 200: R.RuleDetail, ...errors },
  },
  ruleUpdate: {
    summary: 'Changes a rule (admin): enabled, expression, action, description; each change is kept in its history',
    security: keyed,
    params: NameParam,
    body: Type.Object(
      {
        name: Type.Optional(Type.String({ description: "The rule's name, as in the path (it cannot change)" })),
        enabled: Type.Optional(Type.Boolean()),
        expression: Type.Optional(Expression),
        when: Type.Optional(When),
        action: Type.Optional(R.RuleAction),
        description: Type.Optional(Description),
      },
      { ...closed, description: 'At least one field; the name never changes' },
    ),
    response: { 200: R.RiskRule, ...errors },
  },
  ruleRemove: {
    summary: 'Removes a rule (admin); its history stays',
    security: keyed,
    params: NameParam,
    response: { 200: R.RiskRule, ...errors },
  },
  rulesTest: {
    summary: 'Backtests a stored rule or an expression on the transactions stored since a time (as rules test does)',
    security: keyed,
    body: Type.Object(
      {
        name: Type.Optional(Type.String({ description: 'A stored rule' })),
        expression: Type.Optional(Expression),
        when: Type.Optional(When),
        since: Type.Optional(Type.String({ description: '30d (default), 24h, 30m, 2w or an ISO-8601 date' })),
      },
      { ...closed, description: 'name, or expression (or when)' },
    ),
    response: { 200: R.BacktestReport, ...errors },
  },
};
