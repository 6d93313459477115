import { Type, type Static } from 'typebox';
import { Nullable, open } from './shapes.js';

/**
 * Risk rules over HTTP (issue 15): the stored rule and its history as `secureflow rules show --format json`
 * prints them, and a backtest's report as `rules test --format json` prints it. Same field names on every face.
 */
export const RuleAction = Type.Union([Type.Literal('allow'), Type.Literal('review'), Type.Literal('block')]);

export const RiskRule = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    expression: Type.String({ description: 'A CEL expression over the scored transaction' }),
    action: RuleAction,
    description: Nullable(Type.String()),
    enabled: Type.Boolean(),
    created_by: Type.String({ description: 'Who added it: key:NAME for an API key, the OS user for the CLI' }),
    created_at: Type.String(),
    updated_at: Type.String(),
  },
  open,
);

export const RiskRuleHistoryEntry = Type.Object(
  {
    id: Type.Integer(),
    rule_name: Type.String(),
    change: Type.Union([
      Type.Literal('added'),
      Type.Literal('changed'),
      Type.Literal('enabled'),
      Type.Literal('disabled'),
      Type.Literal('removed'),
    ]),
    expression: Type.String(),
    action: RuleAction,
    description: Nullable(Type.String()),
    enabled: Type.Boolean(),
    changed_by: Type.String(),
    changed_at: Type.String(),
  },
  { ...open, description: 'One change, with the rule as it was after it (before it, for removed)' },
);

export const RuleList = Type.Object({ rules: Type.Array(RiskRule), total: Type.Integer() }, open);

export const RuleDetail = Type.Object(
  {
    rule: Type.Union([RiskRule, Type.Null()], { description: 'null once removed: its history stays' }),
    history: Type.Array(RiskRuleHistoryEntry, { description: 'Every change, oldest first' }),
  },
  open,
);

const count = (description: string) => Type.Integer({ minimum: 0, description });

export const BacktestReport = Type.Object(
  {
    rule: Type.Object(
      {
        name: Nullable(Type.String()),
        action: Nullable(RuleAction),
        enabled: Nullable(Type.Boolean()),
        expression: Type.String(),
      },
      { ...open, description: 'The stored rule tested, or the expression (name, action, enabled null)' },
    ),
    tested_on: Type.Object({ stored_since: Type.String() }, open),
    model_version: Nullable(Type.String({ description: 'null: stored transactions are tested as they were scored' })),
    rows: count('Stored transactions in the period'),
    evaluated: count('Rows the rule was evaluated on without error'),
    matched: count('Rows it matched'),
    share: Type.Number({ description: 'matched / evaluated (0 when nothing was evaluated)' }),
    matched_flagged_by_model: count('Matched rows the model flags too'),
    invalid_rows: count('Rows whose input could not be read'),
    rule_errors: count('Rows the rule failed on at run time'),
    errors: Type.Array(
      Type.Object(
        {
          file: Nullable(Type.String()),
          line: Nullable(Type.Integer()),
          transaction_id: Nullable(Type.Integer()),
          error: Type.String(),
        },
        open,
      ),
      { description: 'The first 20 rows the rule failed on' },
    ),
    verdicts: Nullable(
      Type.Object(
        {
          with_verdict: count('Matched rows an analyst gave a verdict on'),
          confirmed_fraud: count('Of those, flagged and marked correct, or passed and marked incorrect'),
          confirmed_legitimate: count('The others'),
        },
        open,
      ),
    ),
    note: Nullable(Type.String()),
  },
  open,
);

export type RiskRuleView = Static<typeof RiskRule>;
export type RuleList = Static<typeof RuleList>;
export type RuleDetail = Static<typeof RuleDetail>;
export type BacktestReportView = Static<typeof BacktestReport>;
