import type { Migration } from '../shared.js';

/**
 * Postgres's half of the one migration history (src/db/sqlite/migrations.ts has the same names, in the same order).
 * Applied in order, each once, in one transaction under an advisory lock, recorded in schema_migrations.
 * Never edit an applied migration: add a new one.
 *
 * Conventions: ids are identity bigints (parsed to JS numbers by the store); JSON is JSONB; times are timestamptz,
 * written from the application's clock as in SQLite (no DEFAULT now()) and returned as ISO-8601 UTC strings by the
 * store; tables are created in the connection's search_path schema.
 */
export const migrations: Migration[] = [
  {
    name: '001_initial',
    sql: `
      CREATE TABLE transactions (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        reference text,
        -- NaN sorts above Infinity in Postgres: "< 'Infinity'" admits finite amounts only.
        amount double precision NOT NULL CHECK (amount >= 0 AND amount < 'Infinity'),
        hour integer NOT NULL CHECK (hour BETWEEN 0 AND 23),
        day_of_week integer NOT NULL CHECK (day_of_week BETWEEN 0 AND 6),
        merchant_category integer NOT NULL CHECK (merchant_category >= 0),
        transaction_type integer NOT NULL CHECK (transaction_type >= 0),
        is_fraudulent boolean NOT NULL,
        anomaly_score double precision NOT NULL,
        risk_score double precision NOT NULL,
        risk_level text NOT NULL,
        confidence double precision NOT NULL,
        explanation jsonb,
        model_version text NOT NULL,
        source text NOT NULL,
        batch_id text,
        created_at timestamptz NOT NULL
      );

      CREATE TABLE feedback (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        transaction_id bigint NOT NULL UNIQUE REFERENCES transactions (id) ON DELETE CASCADE,
        is_correct boolean NOT NULL,
        notes text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );

      CREATE TABLE model_versions (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        version text NOT NULL UNIQUE,
        format text NOT NULL,
        options jsonb NOT NULL,
        trained_at timestamptz NOT NULL,
        rows integer NOT NULL,
        metrics jsonb,
        model text NOT NULL, -- the model file's exact text: exports must be byte for byte (not jsonb)
        active boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL
      );
      -- At most one active model.
      CREATE UNIQUE INDEX model_versions_one_active ON model_versions (active) WHERE active;

      CREATE TABLE api_keys (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name text NOT NULL,
        role text NOT NULL CHECK (role IN ('admin', 'analyst', 'scorer', 'viewer')),
        key_hash text NOT NULL,
        created_at timestamptz NOT NULL,
        last_used_at timestamptz,
        revoked_at timestamptz
      );
    `,
  },
  {
    name: '002_transaction_indexes',
    // listTransactions walks (created_at, id) backwards and stops at the limit; the partial index serves
    // "anomalies only", the batch index "--batch".
    sql: `
      CREATE INDEX transactions_created_at ON transactions (created_at, id);
      CREATE INDEX transactions_anomalies ON transactions (created_at, id) WHERE is_fraudulent;
      CREATE INDEX transactions_batch ON transactions (batch_id, created_at, id);
    `,
  },
  {
    name: '003_transaction_stats',
    // Per-minute (UTC), per-hour-feature counts, kept by insertTransactions in the same transaction, so that the
    // dashboard and the list's totals read a few rows per minute of traffic instead of counting a million
    // transactions. The delete trigger keeps them true when old rows are purged (transactions are otherwise
    // never updated; a TRUNCATE of transactions must truncate transaction_stats too).
    sql: `
      CREATE TABLE transaction_stats (
        bucket timestamptz NOT NULL,
        hour integer NOT NULL,
        total bigint NOT NULL,
        anomalies bigint NOT NULL,
        score_sum double precision NOT NULL,
        PRIMARY KEY (bucket, hour)
      );

      INSERT INTO transaction_stats (bucket, hour, total, anomalies, score_sum)
      SELECT date_trunc('minute', created_at, 'UTC'), hour, count(*), count(*) FILTER (WHERE is_fraudulent), sum(anomaly_score)
      FROM transactions GROUP BY 1, 2;

      -- search_path FROM CURRENT: the function finds this schema's transaction_stats whoever deletes.
      CREATE FUNCTION transactions_forget_stats() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        UPDATE transaction_stats s
        SET total = s.total - d.total, anomalies = s.anomalies - d.anomalies, score_sum = s.score_sum - d.score_sum
        FROM (
          SELECT date_trunc('minute', created_at, 'UTC') AS bucket, hour, count(*) AS total,
                 count(*) FILTER (WHERE is_fraudulent) AS anomalies, sum(anomaly_score) AS score_sum
          FROM deleted GROUP BY 1, 2
        ) d
        WHERE s.bucket = d.bucket AND s.hour = d.hour;
        RETURN NULL;
      END $$;
      CREATE TRIGGER transactions_forget_stats AFTER DELETE ON transactions
        REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION transactions_forget_stats();
    `,
  },
  {
    name: '004_batch_anomalies_index',
    // "--batch X --anomalies": otherwise the anomalies index is walked past every other batch's anomalies.
    sql: `
      CREATE INDEX transactions_batch_anomalies ON transactions (batch_id, created_at, id) WHERE is_fraudulent;
    `,
  },
  {
    name: '005_feedback_transaction_time',
    // The dashboard counts the feedback on transactions since a date. A copy of the transaction's created_at
    // (which never changes) lets it read one index range of feedback instead of joining every transaction since then.
    sql: `
      ALTER TABLE feedback ADD COLUMN transaction_created_at timestamptz;
      UPDATE feedback f SET transaction_created_at = t.created_at FROM transactions t WHERE t.id = f.transaction_id;
      ALTER TABLE feedback ALTER COLUMN transaction_created_at SET NOT NULL;
      CREATE INDEX feedback_transaction_time ON feedback (transaction_created_at) INCLUDE (is_correct);
    `,
  },
  {
    name: '006_stats_elevated',
    // The dashboard's risk-level breakdown: elevated rows per bucket beside the anomalies (which are the
    // highest level), so that it too reads the rollups and not every row of the window.
    sql: `
      ALTER TABLE transaction_stats ADD COLUMN elevated bigint NOT NULL DEFAULT 0;
      UPDATE transaction_stats s SET elevated = e.n
      FROM (SELECT date_trunc('minute', created_at, 'UTC') AS bucket, hour, count(*) AS n
            FROM transactions WHERE risk_level = 'elevated' GROUP BY 1, 2) e
      WHERE s.bucket = e.bucket AND s.hour = e.hour;
      CREATE OR REPLACE FUNCTION transactions_forget_stats() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        UPDATE transaction_stats s
        SET total = s.total - d.total, anomalies = s.anomalies - d.anomalies, score_sum = s.score_sum - d.score_sum,
            elevated = s.elevated - d.elevated
        FROM (
          SELECT date_trunc('minute', created_at, 'UTC') AS bucket, hour, count(*) AS total,
                 count(*) FILTER (WHERE is_fraudulent) AS anomalies, sum(anomaly_score) AS score_sum,
                 count(*) FILTER (WHERE risk_level = 'elevated') AS elevated
          FROM deleted GROUP BY 1, 2
        ) d
        WHERE s.bucket = d.bucket AND s.hour = d.hour;
        RETURN NULL;
      END $$;
    `,
  },
  {
    name: '007_feedback_history',
    // Earlier verdicts on a transaction, kept when a new one replaces them (DESIGN: one current verdict, history kept).
    sql: `
      CREATE TABLE feedback_history (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        transaction_id bigint NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
        is_correct boolean NOT NULL,
        notes text,
        recorded_at timestamptz NOT NULL,
        replaced_at timestamptz NOT NULL
      );
      CREATE INDEX feedback_history_transaction ON feedback_history (transaction_id, id);
    `,
  },
  {
    name: '008_lean_transactions',
    // SQLite's 008 moves repeated text out of its rows; Postgres keeps its layout (times are already 8-byte
    // timestamptz). Bulk inserts COPY rows with ids reserved from the sequence beforehand (src/db/postgres/
    // copy-insert.ts), which COPY cannot do into a GENERATED ALWAYS column: ids stay generated by default.
    sql: `ALTER TABLE transactions ALTER COLUMN id SET GENERATED BY DEFAULT;`,
  },
  {
    name: '009_risk_rules',
    // Risk rules and every change to them (SQLite's 009 has the same tables).
    sql: `
      CREATE TABLE risk_rules (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name text NOT NULL UNIQUE,
        expression text NOT NULL,
        action text NOT NULL CHECK (action IN ('allow', 'review', 'block')),
        description text,
        enabled boolean NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE TABLE risk_rule_history (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        rule_name text NOT NULL,
        change text NOT NULL CHECK (change IN ('added', 'changed', 'enabled', 'disabled', 'removed')),
        expression text NOT NULL,
        action text NOT NULL CHECK (action IN ('allow', 'review', 'block')),
        description text,
        enabled boolean NOT NULL,
        changed_by text NOT NULL,
        changed_at timestamptz NOT NULL
      );
      CREATE INDEX risk_rule_history_name ON risk_rule_history (rule_name, id);
    `,
  },
  {
    name: '010_transaction_decisions',
    // Every scored transaction's decision (0 allow, 1 review, 2 block) and the rules that matched it (as
    // "action:name" pairs joined by ";", NULL when none did). Rows stored before 010 have NULL decisions and read as
    // the model's flag, the decision they would have had without rules; nothing is rewritten.
    sql: `
      ALTER TABLE transactions
        ADD COLUMN decision smallint CHECK (decision IN (0, 1, 2)),
        ADD COLUMN matched_rules text;
      `,
  },
  {
    name: '011_user_accounts',
    // User accounts, a generated JWT secret and who gave each verdict (SQLite's 011 has the same tables).
    sql: `
      CREATE TABLE users (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        username text NOT NULL UNIQUE,
        role text NOT NULL CHECK (role IN ('admin', 'analyst', 'scorer', 'viewer')),
        password_hash text NOT NULL,
        token_generation integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        disabled_at timestamptz
      );
      CREATE TABLE daemon_secrets (
        name text PRIMARY KEY,
        value text NOT NULL,
        created_at timestamptz NOT NULL
      );
      ALTER TABLE feedback ADD COLUMN recorded_by text;
      ALTER TABLE feedback_history ADD COLUMN recorded_by text;
    `,
  },
  {
    name: '012_rule_matches_index',
    // The dashboard's decisions and top rules (Store.decisionSummary) read only the rows a rule matched, a small
    // share of traffic: a partial index finds them in a window without touching the rest, and covers the columns
    // read, so the table is not visited (1M rows, 20k of them matched, SQLite: ~17 ms; ~90 ms uncovered, ~260 ms without it).
    sql: `
      CREATE INDEX transactions_rule_matches ON transactions (created_at)
        INCLUDE (matched_rules, decision, is_fraudulent) WHERE matched_rules IS NOT NULL;
    `,
  },
];
