/**
 * The storage interface between the core and a database backend. Two backends implement it with the
 * same behaviour (src/db/sqlite/, src/db/postgres/), checked by one contract test suite.
 */

/** A scored transaction, ready to store. */
export interface NewTransaction {
  reference: string | null;
  amount: number;
  hour: number;
  day_of_week: number;
  merchant_category: number;
  transaction_type: number;
  is_fraudulent: boolean;
  anomaly_score: number;
  risk_score: number;
  risk_level: string;
  confidence: number;
  /** Shapley values and risk factors, or null when the row was not explained. */
  explanation: unknown | null;
  /**
   * JSON.stringify(explanation), when the caller made it already (predict-batch makes it while the rest of the batch
   * is explained): the stores write it as it is instead of serialising the explanation again.
   */
  explanation_json?: string;
  model_version: string;
  /** Where it came from: cli, api, ... */
  source: string;
  batch_id: string | null;
  /** What the rules (else the model's flag) decided: stored as a small integer (0 allow, 1 review, 2 block). */
  decision: RiskRuleAction;
  /** The rules that matched, in rule order (stored compactly as text, NULL when none). */
  matched_rules: RuleMatchRecord[];
}

/** A rule that matched a stored transaction, and the action it had then. */
export interface RuleMatchRecord {
  name: string;
  action: RiskRuleAction;
}

/**
 * Rows to store: an array, or rows made one at a time on demand (a scored CLI chunk), so that a chunk of 70,000
 * rows need not exist as 70,000 objects at once (they outlived young-generation GC and doubled peak memory).
 */
export interface TransactionRows {
  readonly length: number;
  at(index: number): NewTransaction | undefined;
  /**
   * Rows still being made while the insert runs (predict-batch's slices, as the workers return them): resolves,
   * once at least the first `count` rows can be read with at(), to how many can. A store may start writing the
   * first rows meanwhile (Postgres streams them into its COPY); the insert is still one transaction. Rejects with
   * RowsAbandoned when the rest will never come: the insert then stores nothing and fails with that error.
   */
  ready?(count: number): Promise<number>;
}

/** TransactionRows.ready: the rows will never all be made (scoring failed); the insert stores nothing. */
export class RowsAbandoned extends Error {
  override name = 'RowsAbandoned';
  constructor(options?: { cause?: unknown }) {
    super('the rows to store were abandoned', options);
  }
}

export interface StoredTransaction extends NewTransaction {
  id: number;
  created_at: string; // ISO-8601, UTC
}

export interface Feedback {
  id: number;
  transaction_id: number;
  is_correct: boolean;
  notes: string | null;
  created_at: string;
  updated_at: string;
  /** Who gave the verdict: a user's name, `key:NAME` for an API key, the OS user for the local CLI; null if unknown. */
  recorded_by: string | null;
}

/** An earlier verdict on a transaction, kept when a newer one replaced it. */
export interface FeedbackHistoryEntry {
  is_correct: boolean;
  notes: string | null;
  recorded_by: string | null;
  recorded_at: string;
  replaced_at: string;
}

/** A stored transaction with its analyst's verdict. Fraud = flagged and right, or passed and wrong. */
export interface ReviewedTransaction {
  id: number;
  amount: number;
  hour: number;
  day_of_week: number;
  merchant_category: number;
  transaction_type: number;
  is_fraudulent: boolean;
  is_correct: boolean;
}

/** What a verdict call did: recorded the first verdict, or replaced `previous` (which is kept as history). */
export interface RecordedFeedback extends Feedback {
  previous: { is_correct: boolean; notes: string | null; recorded_by: string | null; recorded_at: string } | null;
}

export interface TransactionQuery {
  anomaliesOnly?: boolean;
  since?: Date;
  batchId?: string;
  limit: number;
  offset?: number;
  /**
   * Keyset paging: only rows after this one in the listing's order (older; at the same time, a lower id). Pass the
   * previous page's last row: each page then costs the same however deep, and rows stored meanwhile shift nothing.
   */
  before?: { created_at: string; id: number };
}

export interface DashboardStats {
  total_transactions: number;
  anomalies_detected: number;
  avg_anomaly_score: number;
  /** Percentage, rounded to 2 decimals. */
  anomaly_rate: number;
  hourly_distribution: { hour: number; total_transactions: number; anomalies: number }[];
  /** Rows by risk_level; `highest` equals anomalies_detected. */
  risk_levels: { normal: number; elevated: number; highest: number };
  feedback: { total_feedback: number; positive_feedback: number; accuracy: number };
}

/** What the rules decided over a window (Store.decisionSummary). */
export interface DecisionSummary {
  /** Rows by decision; rows stored before migration 010 count as the model's flag (review when flagged). */
  decisions: { allow: number; review: number; block: number };
  /** The rules that matched the most rows, most first (ties by name); a rule whose action changed is listed per action. */
  top_rules: RuleMatchCount[];
}

export interface RuleMatchCount {
  name: string;
  action: RiskRuleAction;
  matches: number;
}

export interface ModelVersion {
  id: number;
  version: string;
  format: string;
  options: unknown;
  trained_at: string;
  rows: number;
  metrics: unknown | null;
  active: boolean;
}

export type Role = 'admin' | 'analyst' | 'scorer' | 'viewer';

export interface ApiKey {
  id: number;
  name: string;
  role: Role;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** A person who logs in (POST /api/auth/login) for a token with their role. Never the password. */
export interface User {
  id: number;
  username: string;
  role: Role;
  created_at: string;
  updated_at: string;
  disabled_at: string | null;
}

/** A user with what checking a password and a token needs. */
export interface UserCredentials extends User {
  /** `scrypt$N$r$p$salt$hash` (src/core/passwords.ts). */
  password_hash: string;
  /** Grows when the user is disabled or given a new password: tokens issued under an older one are refused. */
  token_generation: number;
}

/** What a matching risk rule does (src/core/rules/decide.ts has the precedence). */
export type RiskRuleAction = 'allow' | 'review' | 'block';

export interface RiskRule {
  id: number;
  name: string;
  /** A CEL expression, checked (src/core/rules/rule-expression.ts) before it is stored. */
  expression: string;
  action: RiskRuleAction;
  description: string | null;
  enabled: boolean;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface NewRiskRule {
  name: string;
  expression: string;
  action: RiskRuleAction;
  description: string | null;
}

/**
 * What Store.updateRule changes: the fields given (description null: cleared); the name never changes. A change
 * of expression, action or description is one `changed` history row, a change of enabled one `enabled` or
 * `disabled` row after it.
 */
export interface RiskRuleUpdate {
  expression?: string;
  action?: RiskRuleAction;
  description?: string | null;
  enabled?: boolean;
}

export type RiskRuleChange = 'added' | 'changed' | 'enabled' | 'disabled' | 'removed';

/** One change to a rule, with the rule as it was after it (before it, for `removed`). */
export interface RiskRuleHistoryEntry {
  id: number;
  rule_name: string;
  change: RiskRuleChange;
  expression: string;
  action: RiskRuleAction;
  description: string | null;
  enabled: boolean;
  changed_by: string;
  changed_at: string;
}

/** A slice of stored traffic for drift (Store.trafficSlices): features and scores, column arrays of `count` rows. */
export interface TrafficSlice {
  count: number;
  /** Row-major, FEATURES order (amount, hour, day_of_week, merchant_category, transaction_type). */
  features: Float64Array;
  anomalyScores: Float64Array;
  /** 1 where the row was scored by the model asked about. */
  scoredBy: Uint8Array;
}

/**
 * Which stored transactions to train on (Store.trainingPages): created at or after `since` (default: all), with an
 * id at most `untilId` (default: the highest id when the walk starts, so rows stored meanwhile are not read).
 */
export interface TrainingQuery {
  since?: Date;
  untilId?: number;
  /** Rows per page, each its own query (default TRAINING_PAGE_ROWS, 10,000). */
  pageRows?: number;
}

/** A page of stored traffic for training: `count` rows in increasing id order, as column arrays. */
export interface TrainingPage {
  count: number;
  ids: Float64Array;
  /** Row-major, FEATURES order (amount, hour, day_of_week, merchant_category, transaction_type). */
  features: Float64Array;
  /**
   * 1 where an analyst confirmed the row as fraud: its current verdict says its flag was right (flagged and
   * `--correct`) or its pass was wrong (passed and `--incorrect`), i.e. feedback.is_correct = is_fraudulent, as
   * `calibrate --from-feedback` reads verdicts. 0 without a verdict.
   */
  confirmedFraud: Uint8Array;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Applies pending migrations; returns the names applied. Also run automatically on open. */
  migrate(): Promise<string[]>;
  /** The migrations that opening this store applied (empty when the database was up to date). */
  readonly appliedOnOpen: readonly string[];
  /** Stores rows in one database transaction: all or none. Returns their ids, in order. */
  insertTransactions(rows: TransactionRows): Promise<number[]>;
  getTransaction(id: number): Promise<(StoredTransaction & { feedback: Feedback | null }) | null>;
  listTransactions(query: TransactionQuery): Promise<{ rows: StoredTransaction[]; total: number }>;
  /**
   * The newest flagged transactions created since `since` (the rows `listTransactions({ anomaliesOnly, since,
   * limit })` gives, in its order), each with its current verdict: one query, whatever `limit` is (the dashboard).
   */
  recentFlagged(since: Date, limit: number): Promise<(StoredTransaction & { feedback: Feedback | null })[]>;
  /**
   * One current verdict per transaction: a second call replaces it and keeps the one it replaced as history.
   * Atomic: of concurrent calls exactly one finds no verdict (previous null), each other one gets the verdict it
   * replaced. Null when the transaction is unknown.
   */
  upsertFeedback(
    transactionId: number,
    isCorrect: boolean,
    notes: string | null,
    recordedBy?: string | null,
  ): Promise<RecordedFeedback | null>;
  /** The verdicts a transaction's current one replaced, oldest first (empty for an unknown transaction). */
  feedbackHistory(transactionId: number): Promise<FeedbackHistoryEntry[]>;
  /** The current verdicts of these transactions (at most 1,000 ids), by transaction id; none for the others. */
  feedbackOf(transactionIds: readonly number[]): Promise<Feedback[]>;
  /**
   * Every transaction with a current verdict, oldest first: its features, the flag it was given and whether the
   * verdict says that flag was right (what `calibrate --from-feedback` learns fraud from).
   */
  reviewedTransactions(): Promise<ReviewedTransaction[]>;
  dashboard(since: Date): Promise<DashboardStats>;
  /**
   * Decisions since `since` and the `topRules` rules that matched most. Cheap on large tables: totals come from the
   * rollups, and only rows a rule matched (a partial index, migration 012) are read, grouped by their matched rules.
   */
  decisionSummary(since: Date, topRules: number): Promise<DecisionSummary>;
  /** Transactions and anomalies in `buckets` equal spans of [since, now], oldest first (from the rollups). */
  throughput(since: Date, buckets: number): Promise<{ start: string; total: number; anomalies: number }[]>;
  /**
   * The features and scores of the rows stored since `since`, in slices of at most `sliceRows` rows (by id), each
   * its own query: SQLite's driver is synchronous, so one query over a long window would stall a daemon's event
   * loop; between slices it serves requests. `scoredBy` marks rows that `modelVersion` scored.
   */
  trafficSlices(since: Date, modelVersion: string, sliceRows?: number): AsyncGenerator<TrafficSlice>;

  /**
   * The stored transactions a model can be trained on (TrainingQuery), in pages of at most `pageRows` rows in id
   * order: keyset pagination (each page one short query from the last id seen), so memory holds one page and a
   * daemon's event loop is served between pages. Each row's features, id, and whether it is confirmed fraud.
   */
  trainingPages(query?: TrainingQuery): AsyncGenerator<TrainingPage>;

  registerModel(
    model: {
      version: string;
      format: string;
      options: unknown;
      trained_at: string;
      rows: number;
      metrics: unknown | null;
      model: string;
    },
    activate: boolean,
  ): Promise<ModelVersion>;
  listModels(): Promise<ModelVersion[]>;
  /** The stored model document (JSON text) of a version or id. */
  getModel(versionOrId: string): Promise<(ModelVersion & { model: string }) | null>;
  activateModel(versionOrId: string): Promise<ModelVersion | null>;
  activeModel(): Promise<(ModelVersion & { model: string }) | null>;
  /** No registered model active any more (scoring returns to the bundled one); the one that was, if any. */
  deactivateModels(): Promise<ModelVersion | null>;

  /** Stores a key's hash (never the key). */
  createKey(name: string, role: Role, keyHash: string): Promise<ApiKey>;
  listKeys(): Promise<ApiKey[]>;
  /** The key's row and stored hash, for verification. */
  getKey(id: number): Promise<(ApiKey & { key_hash: string }) | null>;
  revokeKey(id: number): Promise<ApiKey | null>;
  touchKey(id: number): Promise<void>;
  countActiveKeys(): Promise<number>;
  /** Every key row, revoked ones included: once a key has existed, a loopback daemon never runs open again. */
  countKeysEver(): Promise<number>;
  /** Replaces a key's stored hash if it is still `oldHash` (upgrading a legacy scrypt hash on first use). */
  rehashKey(id: number, oldHash: string, newHash: string): Promise<void>;

  /** Adds a user (username already checked and lower-cased); a name already taken is StoreError('invalid', field username). */
  createUser(username: string, role: Role, passwordHash: string): Promise<User>;
  listUsers(): Promise<User[]>;
  getUser(username: string): Promise<UserCredentials | null>;
  getUserById(id: number): Promise<UserCredentials | null>;
  /** Sets disabled_at (the first time only) and moves token_generation on; null when there is no such user. */
  disableUser(username: string): Promise<User | null>;
  /** Replaces the password hash and moves token_generation on; null when there is no such user. */
  setUserPassword(username: string, passwordHash: string): Promise<User | null>;
  /** Every user row, disabled ones included: once a user has existed, a loopback daemon never runs open again. */
  countUsers(): Promise<number>;
  countActiveUsers(): Promise<number>;
  /**
   * A secret the daemon keeps in the database (the generated JWT secret): the stored value, or `value` stored now
   * when there is none. Concurrent callers all get the one value stored first.
   */
  keepSecret(name: string, value: string): Promise<string>;

  /** Risk rules, by name. */
  listRules(): Promise<RiskRule[]>;
  getRule(name: string): Promise<RiskRule | null>;
  /**
   * Adds an enabled rule and its `added` history row, in one transaction. A name already taken is
   * StoreError('invalid') with field `name`.
   */
  addRule(rule: NewRiskRule, changedBy: string): Promise<RiskRule>;
  /**
   * Enables or disables a rule, with its history row, in one transaction; null when there is no such rule. A rule
   * already in that state is returned as it is, and no history is written.
   */
  setRuleEnabled(name: string, enabled: boolean, changedBy: string): Promise<RiskRule | null>;
  /**
   * Changes a rule's expression, action, description and/or enabled state (RiskRuleUpdate), with their history
   * rows, in one transaction; null when there is no such rule. Fields given with the values the rule already has
   * change nothing and write no history. Checked as addRule checks (StoreError('invalid') naming the field).
   */
  updateRule(name: string, update: RiskRuleUpdate, changedBy: string): Promise<RiskRule | null>;
  /** Deletes a rule and writes its `removed` history row, in one transaction; the rule as it was, or null. */
  removeRule(name: string, changedBy: string): Promise<RiskRule | null>;
  /** Every change, oldest first: of one rule name (removed rules included), or of all rules. */
  ruleHistory(name?: string): Promise<RiskRuleHistoryEntry[]>;
  /**
   * A number that changes whenever the rules do (the last history row's id; every change writes one): one cheap
   * query, so that a daemon can check it often and reload its rules only when they changed.
   */
  rulesVersion(): Promise<number>;

  /** One round trip to the database; throws StoreError('unavailable') when it cannot be reached. */
  ping(): Promise<void>;

  close(): Promise<void>;
}
