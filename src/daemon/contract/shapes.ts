import { Type, type Static, type TSchema } from 'typebox';
import { FEATURES } from '../../model/features.js';

/**
 * The HTTP contract's shapes (DESIGN.md "HTTP API"), once: route schemas, the OpenAPI document and the remote
 * client's types all come from here. Objects are open (additionalProperties) because the contract is "add what
 * users need, never remove": serialisation must never drop a field a route returns.
 */
export const open = { additionalProperties: true } as const;
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'What went wrong, naming the field at fault' }),
    details: Type.Optional(Type.Object({ field: Type.Optional(Type.String()) }, open)),
  },
  open,
);

export const Features = {
  amount: Type.Number(),
  hour: Type.Integer({ minimum: 0, maximum: 23 }),
  day_of_week: Type.Integer({ minimum: 0, maximum: 6 }),
  merchant_category: Type.Integer(),
  transaction_type: Type.Integer(),
};

export const RiskLevel = Type.Union([Type.Literal('normal'), Type.Literal('elevated'), Type.Literal('highest')]);
export const ShapExplanation = Type.Record(Type.String(), Type.Number(), {
  description: "Each feature's Shapley value",
});
export const FeatureName = Type.Enum(FEATURES);
export const RiskFactor = Type.Object(
  { feature: FeatureName, value: Type.Number(), contribution: Type.Number(), description: Type.String() },
  open,
);

export const Decision = Type.Union([Type.Literal('allow'), Type.Literal('review'), Type.Literal('block')], {
  description:
    'What happens to the transaction: a matching allow rule wins, then block, then review; with no rule matching, ' +
    'review when the model flags it (is_anomaly), else allow',
});
export const RuleMatch = Type.Object(
  { name: Type.String(), action: Type.Union([Type.Literal('allow'), Type.Literal('review'), Type.Literal('block')]) },
  open,
);
/** Rules that failed on one transaction at run time (they count as not matched); only present when one did. */
export const RuleErrors = Type.Optional(
  Type.Array(Type.Object({ rule: Type.String(), error: Type.String() }, open), {
    description: 'Rules that could not be evaluated on this transaction (counted as not matched)',
  }),
);

/** The scores every face shows for one transaction. */
const Scores = {
  is_anomaly: Type.Boolean(),
  is_fraudulent: Type.Boolean(),
  anomaly_score: Type.Number(),
  risk_score: Type.Number(),
  risk_level: RiskLevel,
  confidence: Type.Number(),
  decision: Decision,
  matched_rules: Type.Array(RuleMatch, { description: 'The enabled rules that matched, in rule order' }),
};

export const PredictResult = Type.Object(
  {
    transaction_id: Nullable(Type.Integer({ description: 'null with ?store=false' })),
    reference: Nullable(Type.String()),
    ...Scores,
    rule_errors: RuleErrors,
    shap_explanation: ShapExplanation,
    shap_base_value: Type.Number(),
    risk_factors: Type.Array(RiskFactor),
    data_source: Type.String(),
    model_version: Type.String(),
    timestamp: Type.String(),
    ...Features,
  },
  open,
);

export const BatchItem = Type.Union([
  Type.Object(
    {
      index: Type.Integer(),
      line: Type.Optional(Type.Integer()),
      transaction_id: Nullable(Type.Integer()),
      reference: Nullable(Type.String()),
      ...Scores,
      rule_errors: RuleErrors,
      shap_explanation: Type.Optional(ShapExplanation),
      risk_factors: Type.Optional(Type.Array(RiskFactor)),
    },
    open,
  ),
  Type.Object(
    { index: Type.Integer(), line: Type.Optional(Type.Integer()), error: Type.String(), field: Type.String() },
    open,
  ),
]);

export const BatchResult = Type.Object(
  {
    results: Type.Array(BatchItem),
    total_processed: Type.Integer(),
    scored: Type.Integer(),
    errors: Type.Integer(),
    flagged: Type.Integer(),
    batch_id: Nullable(Type.String()),
    model_version: Type.String(),
    threshold_risk: Type.Number({ description: "Where risk_level's bands start" }),
    timestamp: Type.String(),
  },
  open,
);

export const Feedback = Type.Object(
  {
    id: Type.Integer(),
    transaction_id: Type.Integer(),
    is_correct: Type.Boolean(),
    notes: Nullable(Type.String()),
    created_at: Type.String(),
    updated_at: Type.String(),
    recorded_by: Nullable(Type.String({ description: "Who gave it: a user's name, key:NAME for an API key" })),
  },
  open,
);

/** A login token (POST /api/auth/login, /api/auth/refresh). */
export const LoginResult = Type.Object(
  {
    token: Type.String({ description: 'A JWT (HS256): send it as Authorization: Bearer TOKEN' }),
    token_type: Type.Literal('Bearer'),
    expires_at: Type.String({ description: 'ISO-8601 time the token stops working' }),
    username: Type.String(),
    role: Type.Union([Type.Literal('admin'), Type.Literal('analyst'), Type.Literal('scorer'), Type.Literal('viewer')]),
  },
  open,
);

/** A verdict that a later one replaced. */
export const FeedbackHistoryEntry = Type.Object(
  {
    is_correct: Type.Boolean(),
    notes: Nullable(Type.String()),
    recorded_by: Nullable(Type.String()),
    recorded_at: Type.String(),
    replaced_at: Type.String(),
  },
  open,
);

export const FeedbackResult = Type.Object(
  {
    message: Type.String(),
    transaction_id: Type.Integer(),
    feedback: Type.Boolean(),
    id: Type.Integer(),
    is_correct: Type.Boolean(),
    notes: Nullable(Type.String()),
    created_at: Type.String(),
    updated_at: Type.String(),
    recorded_by: Nullable(Type.String()),
    previous: Nullable(
      Type.Object(
        {
          feedback: Type.Boolean(),
          notes: Nullable(Type.String()),
          recorded_by: Nullable(Type.String()),
          recorded_at: Type.String(),
        },
        open,
      ),
    ),
  },
  open,
);

/** A stored transaction as GET /api/transactions shows it: every stored column plus the contract's names. */
export const StoredTransaction = Type.Object(
  {
    id: Type.Integer(),
    reference: Nullable(Type.String()),
    ...Features,
    ...Scores,
    risk_level: Type.String(),
    explanation: Type.Unknown(),
    model_version: Type.String(),
    source: Type.String(),
    batch_id: Nullable(Type.String()),
    created_at: Type.String(),
    shap_explanation: Nullable(ShapExplanation),
    risk_factors: Nullable(Type.Array(RiskFactor)),
    timestamp: Type.String(),
    feedback: Type.Optional(Nullable(Feedback)),
  },
  open,
);

export const TransactionPage = Type.Object(
  {
    transactions: Type.Array(StoredTransaction),
    pagination: Type.Object(
      { page: Type.Integer(), per_page: Type.Integer(), total: Type.Integer(), pages: Type.Integer() },
      open,
    ),
  },
  open,
);

export const TransactionDetail = Type.Object(
  {
    ...StoredTransaction.properties,
    shap_base_value: Nullable(Type.Number()),
    feedback_history: Type.Optional(
      Type.Array(FeedbackHistoryEntry, { description: 'Verdicts replaced, oldest first' }),
    ),
  },
  open,
);

/** PSI of the window's stored traffic (core/stored-drift.ts): a figure per feature and for the score. */
function DriftShape() {
  const figure = {
    psi: Type.Number(),
    band: Type.Union([Type.Literal('stable'), Type.Literal('watch'), Type.Literal('drifted')]),
    drifted: Type.Boolean(),
    largest_shift: Type.Object({ bin: Type.String(), expected: Type.Number(), actual: Type.Number() }, open),
  };
  return Type.Object(
    {
      days: Type.Integer(),
      rows: Type.Integer(),
      scored_rows: Type.Integer(),
      features: Type.Array(Type.Object({ name: Type.String(), ...figure }, open)),
      score: Nullable(Type.Object(figure, open)),
      drifted: Type.Boolean(),
    },
    open,
  );
}

export const AlertRate = Type.Object(
  {
    threshold: Type.Number({ description: 'the anomaly-score threshold in force' }),
    expected: Type.Number({ description: 'share of traffic it is expected to flag, 0..1' }),
    low: Type.Number({ description: '95% Wilson interval, low end' }),
    high: Type.Number({ description: '95% Wilson interval, high end' }),
    basis: Type.Union([Type.Literal('calibration'), Type.Literal('training')], {
      description: "measured on the model's calibration traffic (secureflow calibrate), else on its training rows",
    }),
    rows: Type.Integer({ description: 'the rows it was measured on' }),
  },
  open,
);

export const Dashboard = Type.Object(
  {
    model_version: Nullable(Type.String()),
    alert_rate: Type.Optional(Nullable(AlertRate)),
    days: Type.Integer(),
    since: Type.String(),
    generated_at: Type.String(),
    stats: Type.Object(
      {
        total_transactions: Type.Integer(),
        anomalies_detected: Type.Integer(),
        avg_anomaly_score: Type.Number(),
        anomaly_rate: Type.Number(),
      },
      open,
    ),
    hourly_distribution: Type.Array(
      Type.Object({ hour: Type.Integer(), total_transactions: Type.Integer(), anomalies: Type.Integer() }, open),
    ),
    feedback: Type.Object(
      { total_feedback: Type.Integer(), positive_feedback: Type.Integer(), accuracy: Type.Number() },
      open,
    ),
    risk_levels: Type.Object({ normal: Type.Integer(), elevated: Type.Integer(), highest: Type.Integer() }, open),
    throughput: Type.Array(
      Type.Object({ start: Type.String(), total: Type.Integer(), anomalies: Type.Integer() }, open),
    ),
    recent_flagged: Type.Array(
      Type.Object(
        {
          id: Type.Integer(),
          created_at: Type.String(),
          amount: Type.Number(),
          hour: Type.Integer(),
          anomaly_score: Type.Number(),
          risk_score: Type.Number(),
          risk_level: Type.String(),
          top_factor: Nullable(Type.Object({ feature: Type.String(), description: Type.String() }, open)),
          feedback: Nullable(Type.Boolean()),
        },
        open,
      ),
    ),
    drift: Type.Optional(Nullable(DriftShape())),
    decisions: Type.Optional(
      Type.Object(
        { allow: Type.Integer(), review: Type.Integer(), block: Type.Integer() },
        {
          ...open,
          description:
            "Transactions in the window by decision; rows stored before decisions were kept count as the model's flag",
        },
      ),
    ),
    top_rules: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String(),
            action: Type.Union([Type.Literal('allow'), Type.Literal('review'), Type.Literal('block')]),
            matches: Type.Integer({ description: 'Transactions in the window the rule matched' }),
          },
          open,
        ),
        { description: 'The rules that matched the most transactions in the window, most first' },
      ),
    ),
  },
  open,
);

export const Health = Type.Object(
  {
    status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded')]),
    database: Type.String(),
    database_kind: Type.String(),
    model_version: Type.String(),
    alert_rate: Type.Optional(AlertRate),
    timestamp: Type.String(),
  },
  open,
);
export const Ready = Type.Object(
  { ready: Type.Boolean(), database: Type.String(), model_version: Type.String(), timestamp: Type.String() },
  open,
);
export const Warmup = Type.Object(
  {
    status: Type.Literal('warmed_up'),
    warmup_time_seconds: Type.Number(),
    model_version: Type.String(),
    database: Type.String(),
    timestamp: Type.String(),
  },
  open,
);

export type PredictResult = Static<typeof PredictResult>;
export type BatchResult = Static<typeof BatchResult>;
export type FeedbackResult = Static<typeof FeedbackResult>;
export type LoginResult = Static<typeof LoginResult>;
export type TransactionPage = Static<typeof TransactionPage>;
export type TransactionDetail = Static<typeof TransactionDetail>;
export type Dashboard = Static<typeof Dashboard>;
export type Health = Static<typeof Health>;
