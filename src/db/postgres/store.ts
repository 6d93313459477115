import pg from 'pg';
import type {
  ApiKey,
  DashboardStats,
  DecisionSummary,
  Feedback,
  FeedbackHistoryEntry,
  ModelVersion,
  NewRiskRule,
  NewTransaction,
  RecordedFeedback,
  RiskRule,
  RiskRuleChange,
  RiskRuleHistoryEntry,
  RiskRuleUpdate,
  ReviewedTransaction,
  Role,
  Store,
  StoredTransaction,
  TransactionQuery,
  TransactionRows,
  TrafficSlice,
  TrainingPage,
  TrainingQuery,
  User,
  UserCredentials,
} from '../store.js';
import { RowsAbandoned } from '../store.js';
import {
  allRows,
  asId,
  binThroughput,
  buildDashboard,
  buildDecisionSummary,
  type DecisionSummaryRow,
  RULE_COMBINATIONS_READ,
  checkIdList,
  checkPage,
  checkRiskRule,
  updatedRule,
  checkText,
  replacedVerdict,
  checkTransactions,
  describeError as reason,
  explanationText,
  isoOf,
  jsonOrNull,
  decisionToCode,
  matchedRulesText,
  withDecision,
  minuteOf,
  modelRef,
  nowIso as now,
  redactUrl,
  RISK_RULE_COLUMNS,
  RISK_RULE_HISTORY_COLUMNS,
  scrubMessage,
  statsBoundary,
  StoreError,
  sumByHour,
  TRANSACTION_COLUMNS,
  unstorableText,
  type HourSums,
  TRAFFIC_SLICE_ROWS,
  trafficSlice,
  checkTrainingQuery,
  TRAINING_PAGE_ROWS,
  trainingPage,
} from '../shared.js';
import { COPY_MIN_ROWS, copyInsert, idSequence } from './copy-insert.js';
import { migrations } from './migrations.js';

type Row = Record<string, unknown>;
type Queryable = Pick<pg.PoolClient, 'query'>;

export interface PostgresOptions {
  /** Schema for every connection's search_path (tests use one per test); it must exist. Default: the server's. */
  schema?: string;
  /** Pool size. Default 10. */
  poolSize?: number;
  /** How long to wait for a connection before failing. Default 10 s. */
  connectTimeoutMs?: number;
  /** Fail a query that gets no answer in this many ms (a silent network). Default: wait. */
  queryTimeoutMs?: number;
}

// Decisions are stored as codes, NULL before migration 010 (read as the model's flag); withDecision names them.
const TX_COLUMNS = TRANSACTION_COLUMNS.map((c) =>
  c === 'decision' ? 'COALESCE(t.decision, t.is_fraudulent::int) AS decision' : `t.${c}`,
).join(', ');
const MODEL_COLUMNS = 'id, version, format, options, trained_at, rows, metrics, active';
const KEY_COLUMNS = 'id, name, role, created_at, last_used_at, revoked_at';
const FEEDBACK_COLUMNS = 'id, transaction_id, is_correct, notes, created_at, updated_at, recorded_by';
const USER_COLUMNS = 'id, username, role, created_at, updated_at, disabled_at';
/** A transaction's verdict beside its columns (`LEFT JOIN feedback f`), split off again by withFeedback. */
const FEEDBACK_JOINED =
  'f.id AS f_id, f.is_correct AS f_is_correct, f.notes AS f_notes, f.created_at AS f_created_at, f.updated_at AS f_updated_at, f.recorded_by AS f_recorded_by';

// The columns from unnest (all but id and created_at, which is one value for the batch) and their array types.
const INSERT_COLUMNS = TRANSACTION_COLUMNS.slice(1, -1);
const INSERT_TYPES = [
  'text',
  'float8',
  'int4',
  'int4',
  'int4',
  'int4',
  'bool',
  'float8',
  'float8',
  'text',
  'float8',
  'jsonb',
  'text',
  'text',
  'text',
  'int2',
  'text',
];
// One statement for any number of rows (15 parameters, one array per column). ORDER BY ord makes the identity
// values follow input order; RETURNING's order is not documented, so the caller sorts the ids it returns.
const INSERT_SQL = `
  INSERT INTO transactions (${INSERT_COLUMNS.join(', ')}, created_at)
  SELECT ${INSERT_COLUMNS.join(', ')}, $${INSERT_TYPES.length + 1}::timestamptz
  FROM unnest(${INSERT_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) WITH ORDINALITY AS u(${INSERT_COLUMNS.join(', ')}, ord)
  ORDER BY ord
  RETURNING id`;
// The batch's per-hour sums into its minute ($5). Last in the transaction, in hour order: concurrent writers
// queue on these rows briefly and never deadlock.
const STATS_SQL = `
  INSERT INTO transaction_stats AS s (bucket, hour, total, anomalies, score_sum, elevated)
  SELECT $5::timestamptz, u.* FROM unnest($1::int4[], $2::int8[], $3::int8[], $4::float8[], $6::int8[]) AS u(hour, total, anomalies, score_sum, elevated)
  ORDER BY u.hour
  ON CONFLICT (bucket, hour) DO UPDATE SET
    total = s.total + excluded.total, anomalies = s.anomalies + excluded.anomalies, score_sum = s.score_sum + excluded.score_sum,
    elevated = s.elevated + excluded.elevated`;

// Per pool rather than pg.types.setTypeParser, which would change every pg user in the process.
const parseTimestamp = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ) as (text: string) => Date;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    // int8 (ids, count(*)) and numeric (sum()): JS numbers; exact up to 2^53, far beyond any table here.
    if (oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC) return (text: string) => Number(text);
    if (oid === pg.types.builtins.TIMESTAMPTZ) return (text: string) => parseTimestamp(text).toISOString();
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/** The Store over a Postgres pool. Parameterised queries only; multi-statement writes in BEGIN/COMMIT. */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  appliedOnOpen: readonly string[] = [];
  private closed = false;
  /** The id sequence bulk inserts reserve from (copy-insert.ts), looked up on the first one. */
  private sequence: string | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly display: string,
  ) {}

  /** Connects, applies pending migrations. Errors name the database with its password masked. */
  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresStore> {
    const display = redactUrl(url);
    if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) {
      throw new StoreError(
        'invalid',
        `schema must be a lower-case SQL identifier, got ${JSON.stringify(options.schema)}`,
      );
    }
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      query_timeout: options.queryTimeoutMs,
      application_name: 'secureflow',
      options: options.schema ? `-c search_path=${options.schema}` : undefined,
      types,
    });
    // An idle client losing its connection emits 'error' on the pool, which would crash the process if unheard;
    // the next query gets a fresh connection or fails with its own error.
    pool.on('error', () => {});
    // A client checked out of the pool has no listener of the pool's: a connection cut mid-transaction (failover,
    // pg_terminate_backend) would emit an unheard 'error' and kill the process. The query in flight rejects anyway.
    pool.on('connect', (client) => client.on('error', () => {}));
    const store = new PostgresStore(pool, display);
    try {
      await pool.query('SELECT 1');
    } catch (e) {
      await pool.end().catch(() => {});
      throw new StoreError('unavailable', scrubMessage(`cannot connect to ${display}: ${reason(e)}`, url), {
        cause: e,
      });
    }
    try {
      store.appliedOnOpen = await store.migrate();
    } catch (e) {
      await pool.end().catch(() => {});
      throw e instanceof StoreError
        ? e
        : new StoreError('unavailable', scrubMessage(`cannot migrate ${display}: ${reason(e)}`, url), { cause: e });
    }
    return store;
  }

  async migrate(): Promise<string[]> {
    const pending = async (q: Queryable) => {
      const exists = (await q.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS ok")).rows[0].ok as boolean;
      const applied = new Set(
        exists ? (await q.query('SELECT name FROM schema_migrations')).rows.map((r) => r.name as string) : [],
      );
      return migrations.filter((m) => !applied.has(m.name));
    };
    // Most opens find nothing to do: check without taking the lock.
    if ((await pending(this.pool)).length === 0) return [];
    return this.tx(async (c) => {
      // Concurrent openers queue here; the second then finds nothing pending. Keyed by schema so that separate
      // schemas (tests) migrate independently. DDL is transactional: a failed migration leaves no trace.
      await c.query("SELECT pg_advisory_xact_lock(hashtext('secureflow:migrate:' || coalesce(current_schema(), '')))");
      await c.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL)',
      );
      const todo = await pending(c);
      for (const m of todo) {
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2::timestamptz)', [m.name, now()]);
      }
      return todo.map((m) => m.name);
    });
  }

  /** Rows as `T`: the SQL's column list is what makes them so (a row type here, not a cast at each caller). */
  private async query<T extends object = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    try {
      return (await this.pool.query<T & Row>(sql, params)).rows;
    } catch (e) {
      throw this.mapError(e);
    }
  }

  /**
   * Runs fn in one transaction. A connection lost before COMMIT was sent means nothing was stored (the server
   * rolls back): that is retried once on a fresh connection. A loss during COMMIT is ambiguous and never retried
   * (it could store twice): the caller gets 'unavailable' and the write is not acknowledged.
   */
  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>, retry = true): Promise<T> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw this.mapError(e);
    }
    let committing = false;
    try {
      await c.query('BEGIN');
      const result = await fn(c);
      committing = true;
      await c.query('COMMIT');
      c.release();
      return result;
    } catch (e) {
      // A client whose ROLLBACK fails is broken: release(err) removes it from the pool.
      await c.query('ROLLBACK').then(
        () => c.release(),
        (err: Error) => c.release(err),
      );
      const mapped = this.mapError(e);
      if (retry && !committing && !this.closed && mapped instanceof StoreError && mapped.kind === 'unavailable')
        return this.tx(fn, false);
      throw mapped;
    }
  }

  async insertTransactions(source: TransactionRows): Promise<number[]> {
    if (source.length === 0) return [];
    if (source.length >= COPY_MIN_ROWS) return this.copyTransactions(source); // streams rows as they are made
    await allRows(source);
    const rows = Array.isArray(source)
      ? (source as NewTransaction[])
      : Array.from({ length: source.length }, (_, i) => source.at(i)!);
    checkTransactions(rows);
    // One array per column; pg serialises them as array literals.
    const columns = INSERT_COLUMNS.map((name) =>
      name === 'explanation'
        ? rows.map(explanationText)
        : name === 'decision'
          ? rows.map((r) => decisionToCode(r.decision))
          : name === 'matched_rules'
            ? rows.map((r) => matchedRulesText(r.matched_rules))
            : rows.map((r) => (r as unknown as Row)[name]),
    );
    const createdAt = now();
    const stats = statsParams(sumByHour(rows), createdAt);
    const ids = await this.tx(async (c) => {
      const inserted = (await c.query(INSERT_SQL, [...columns, createdAt])).rows.map((r) => r.id as number);
      await c.query(STATS_SQL, stats);
      return inserted;
    });
    return ids.sort((a, b) => a - b);
  }

  /** A bulk insert: COPY with reserved ids (./copy-insert.ts), then the hour sums into transaction_stats. */
  private async copyTransactions(rows: TransactionRows): Promise<number[]> {
    const createdAt = now();
    return this.tx(async (c) => {
      this.sequence ??= await idSequence(c);
      const { ids, hours } = await copyInsert(c, rows, createdAt, this.sequence);
      await c.query(STATS_SQL, statsParams(hours, createdAt));
      return ids;
    });
  }

  async getTransaction(id: number): Promise<(StoredTransaction & { feedback: Feedback | null }) | null> {
    if (asId(id) === null) return null;
    const [row] = await this.query(
      `SELECT ${TX_COLUMNS}, ${FEEDBACK_JOINED} FROM transactions t LEFT JOIN feedback f ON f.transaction_id = t.id WHERE t.id = $1`,
      [id],
    );
    return row ? withFeedback(row) : null;
  }

  async reviewedTransactions(): Promise<ReviewedTransaction[]> {
    const rows = await this.query(
      `SELECT t.id, t.amount, t.hour, t.day_of_week, t.merchant_category, t.transaction_type,
              t.is_fraudulent, f.is_correct
       FROM transactions t JOIN feedback f ON f.transaction_id = t.id ORDER BY t.id`,
      [],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      amount: Number(r.amount),
      hour: Number(r.hour),
      day_of_week: Number(r.day_of_week),
      merchant_category: Number(r.merchant_category),
      transaction_type: Number(r.transaction_type),
      is_fraudulent: r.is_fraudulent === true,
      is_correct: r.is_correct === true,
    }));
  }

  async recentFlagged(since: Date, limit: number): Promise<(StoredTransaction & { feedback: Feedback | null })[]> {
    checkPage(limit, 0);
    const rows = await this.query(
      `SELECT ${TX_COLUMNS}, ${FEEDBACK_JOINED} FROM transactions t LEFT JOIN feedback f ON f.transaction_id = t.id
       WHERE t.is_fraudulent AND t.created_at >= $1::timestamptz ORDER BY t.created_at DESC, t.id DESC LIMIT $2`,
      [isoOf(since, 'since'), limit],
    );
    return rows.map(withFeedback);
  }

  async listTransactions(query: TransactionQuery): Promise<{ rows: StoredTransaction[]; total: number }> {
    const offset = query.offset ?? 0;
    checkPage(query.limit, offset);
    const since = query.since === undefined ? null : isoOf(query.since, 'since');
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.anomaliesOnly) where.push('t.is_fraudulent');
    if (since !== null) params.push(since), where.push(`t.created_at >= $${params.length}::timestamptz`);
    if (query.batchId !== undefined) params.push(query.batchId), where.push(`t.batch_id = $${params.length}`);
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    // The page only: the total counts every row of the query.
    const page = [...where];
    const pageParams = [...params];
    if (query.before !== undefined) {
      pageParams.push(isoOf(new Date(query.before.created_at), 'before.created_at'), query.before.id);
      const [at, id] = [pageParams.length - 1, pageParams.length];
      page.push(`t.created_at <= $${at}::timestamptz AND (t.created_at < $${at}::timestamptz OR t.id < $${id})`);
    }
    const pageClause = page.length ? `WHERE ${page.join(' AND ')}` : '';
    const n = pageParams.length;
    const [rows, total] = await Promise.all([
      this.query<StoredTransaction>(
        `SELECT ${TX_COLUMNS} FROM transactions t ${pageClause} ORDER BY t.created_at DESC, t.id DESC LIMIT $${n + 1} OFFSET $${n + 2}`,
        [...pageParams, query.limit, offset],
      ),
      this.count(query, clause, params, since),
    ]);
    return { rows: rows.map(withDecision), total };
  }

  /** A batch is counted row by row (its index is small); everything else mostly from transaction_stats. */
  private async count(
    query: TransactionQuery,
    clause: string,
    params: unknown[],
    since: string | null,
  ): Promise<number> {
    if (query.batchId !== undefined)
      return (await this.query(`SELECT count(*) AS n FROM transactions t ${clause}`, params))[0].n as number;
    const boundary = statsBoundary(since);
    const [row] = await this.query(
      `SELECT (SELECT coalesce(sum(${query.anomaliesOnly ? 'anomalies' : 'total'}), 0) FROM transaction_stats WHERE bucket >= $1::timestamptz)
            + (SELECT count(*) FROM transactions t WHERE ${query.anomaliesOnly ? 't.is_fraudulent AND ' : ''}t.created_at >= $2::timestamptz AND t.created_at < $1::timestamptz) AS n`,
      [boundary, since ?? boundary],
    );
    return row.n as number;
  }

  async upsertFeedback(
    transactionId: number,
    isCorrect: boolean,
    notes: string | null,
    recordedBy: string | null = null,
  ): Promise<RecordedFeedback | null> {
    if (asId(transactionId) === null) return null;
    checkText('notes', notes);
    checkText('recorded_by', recordedBy);
    const at = now();
    return this.tx(async (c) => {
      // The first verdict: inserted only when the transaction exists. A concurrent first verdict makes this wait
      // for it and then do nothing, so that exactly one caller records and the others replace.
      const inserted = await c.query(
        `INSERT INTO feedback (transaction_id, transaction_created_at, is_correct, notes, created_at, updated_at, recorded_by)
         SELECT id, created_at, $2, $3, $4::timestamptz, $4::timestamptz, $5 FROM transactions WHERE id = $1
         ON CONFLICT (transaction_id) DO NOTHING RETURNING ${FEEDBACK_COLUMNS}`,
        [transactionId, isCorrect, notes, at, recordedBy],
      );
      if (inserted.rows[0]) return { ...(inserted.rows[0] as Feedback), previous: null };
      // Locked: concurrent replacements queue here, each keeping (as history) exactly the verdict it replaced.
      const current = (
        await c.query(`SELECT ${FEEDBACK_COLUMNS} FROM feedback WHERE transaction_id = $1 FOR UPDATE`, [transactionId])
      ).rows[0] as Feedback | undefined;
      if (!current) return null; // no such transaction
      await c.query(
        'INSERT INTO feedback_history (transaction_id, is_correct, notes, recorded_by, recorded_at, replaced_at) VALUES ($1, $2, $3, $4, $5::timestamptz, $6::timestamptz)',
        [transactionId, current.is_correct, current.notes, current.recorded_by, current.updated_at, at],
      );
      // greatest(): a later replacement never gets an earlier time than the verdict it replaced.
      const updated = await c.query(
        `UPDATE feedback SET is_correct = $2, notes = $3, recorded_by = $5, updated_at = greatest($4::timestamptz, updated_at) WHERE transaction_id = $1 RETURNING ${FEEDBACK_COLUMNS}`,
        [transactionId, isCorrect, notes, at, recordedBy],
      );
      return {
        ...(updated.rows[0] as Feedback),
        previous: replacedVerdict(current),
      };
    });
  }

  async feedbackHistory(transactionId: number): Promise<FeedbackHistoryEntry[]> {
    if (asId(transactionId) === null) return [];
    return await this.query<FeedbackHistoryEntry>(
      'SELECT is_correct, notes, recorded_by, recorded_at, replaced_at FROM feedback_history WHERE transaction_id = $1 ORDER BY id',
      [transactionId],
    );
  }

  async feedbackOf(transactionIds: readonly number[]): Promise<Feedback[]> {
    const ids = checkIdList(transactionIds);
    if (ids.length === 0) return [];
    return (await this.query(
      `SELECT ${FEEDBACK_COLUMNS} FROM feedback WHERE transaction_id = ANY($1::bigint[]) ORDER BY transaction_id`,
      [ids],
    )) as unknown as Feedback[];
  }

  async dashboard(since: Date): Promise<DashboardStats> {
    const from = isoOf(since, 'since');
    const boundary = statsBoundary(from);
    const [hours, [feedback]] = await Promise.all([
      // Whole minutes from transaction_stats, the first partial minute from the rows themselves.
      this.query<HourSums>(
        `SELECT hour, sum(total) AS total, sum(anomalies) AS anomalies, sum(score_sum) AS score_sum, sum(elevated) AS elevated
         FROM transaction_stats WHERE bucket >= $2::timestamptz GROUP BY hour
         UNION ALL
         SELECT hour, count(*), count(*) FILTER (WHERE is_fraudulent), sum(anomaly_score), count(*) FILTER (WHERE risk_level = 'elevated')
         FROM transactions WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz GROUP BY hour`,
        [from, boundary],
      ),
      this.query<{ total: number; positive: number }>(
        'SELECT count(*) AS total, count(*) FILTER (WHERE is_correct) AS positive FROM feedback WHERE transaction_created_at >= $1::timestamptz',
        [from],
      ),
    ]);
    return buildDashboard(hours, feedback);
  }

  async decisionSummary(since: Date, topRules: number): Promise<DecisionSummary> {
    const from = isoOf(since, 'since');
    // One statement, so totals and rule-matched rows are one snapshot. The rule-matched rows are read through the
    // partial, covering index transactions_rule_matches (migration 012): the rows no rule matched are never touched.
    const rows = await this.query<DecisionSummaryRow>(
      `SELECT 0 AS kind, NULL::text AS rules, NULL::int AS d, sum(total)::bigint AS n, sum(anomalies)::bigint AS m
       FROM transaction_stats WHERE bucket >= $2::timestamptz
       UNION ALL
       SELECT 0, NULL, NULL, count(*), count(*) FILTER (WHERE is_fraudulent)
       FROM transactions WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz
       UNION ALL
       SELECT 1, NULL, coalesce(decision, is_fraudulent::int), count(*), count(*) FILTER (WHERE is_fraudulent)
       FROM transactions WHERE created_at >= $1::timestamptz AND matched_rules IS NOT NULL GROUP BY 3
       UNION ALL
       (SELECT 2, matched_rules, NULL, count(*), NULL FROM transactions
        WHERE created_at >= $1::timestamptz AND matched_rules IS NOT NULL GROUP BY matched_rules ORDER BY 4 DESC LIMIT $3)`,
      [from, statsBoundary(from), RULE_COMBINATIONS_READ],
    );
    return buildDecisionSummary(rows, topRules);
  }

  async throughput(since: Date, buckets: number): Promise<{ start: string; total: number; anomalies: number }[]> {
    const from = isoOf(since, 'since');
    const minutes = await this.query(
      'SELECT bucket, sum(total) AS total, sum(anomalies) AS anomalies FROM transaction_stats WHERE bucket >= $1::timestamptz GROUP BY bucket',
      [statsBoundary(from)],
    );
    return binThroughput(minutes as { bucket: string; total: number; anomalies: number }[], since, new Date(), buckets);
  }

  async *trafficSlices(
    since: Date,
    modelVersion: string,
    sliceRows = TRAFFIC_SLICE_ROWS,
  ): AsyncGenerator<TrafficSlice> {
    const from = isoOf(since, 'since');
    // From the window's first id on, by id (the primary key): each slice one short query.
    const [{ first }] = await this.query(
      'SELECT min(id) AS first FROM transactions WHERE created_at >= $1::timestamptz',
      [from],
    );
    if (first === null) return;
    let next = Number(first);
    for (;;) {
      const rows = (
        await this.query(
          `SELECT id, amount, hour, day_of_week, merchant_category, transaction_type, anomaly_score, model_version = $1 AS same
           FROM transactions WHERE id >= $2 AND created_at >= $3::timestamptz ORDER BY id LIMIT $4`,
          [modelVersion, next, from, sliceRows],
        )
      ).map((r) => [
        r.id,
        r.amount,
        r.hour,
        r.day_of_week,
        r.merchant_category,
        r.transaction_type,
        r.anomaly_score,
        r.same,
      ]);
      if (rows.length > 0) yield trafficSlice(rows);
      if (rows.length < sliceRows) return;
      next = Number(rows[rows.length - 1][0]) + 1;
    }
  }

  async *trainingPages({
    since,
    untilId,
    pageRows = TRAINING_PAGE_ROWS,
  }: TrainingQuery = {}): AsyncGenerator<TrainingPage> {
    checkTrainingQuery(untilId, pageRows);
    const from = since === undefined ? null : isoOf(since, 'since');
    // The walk's ends: the window's first id (by the created_at index) and the highest id now (or untilId).
    const inWindow = from === null ? 'true' : 'created_at >= $1::timestamptz';
    const [{ top, first }] = await this.query(
      `SELECT (SELECT max(id) FROM transactions) AS top, (SELECT min(id) FROM transactions WHERE ${inWindow}) AS first`,
      from === null ? [] : [from],
    );
    if (top === null || first === null) return;
    const last = Math.min(untilId ?? Number(top), Number(top));
    let next = Number(first);
    while (next <= last) {
      const rows = (
        await this.query(
          `SELECT t.id, t.amount, t.hour, t.day_of_week, t.merchant_category, t.transaction_type,
                  coalesce(f.is_correct = t.is_fraudulent, false) AS fraud
           FROM transactions t LEFT JOIN feedback f ON f.transaction_id = t.id
           WHERE t.id >= $1 AND t.id <= $2${from === null ? '' : ' AND t.created_at >= $4::timestamptz'}
           ORDER BY t.id LIMIT $3`,
          from === null ? [next, last, pageRows] : [next, last, pageRows, from],
        )
      ).map((r) => [r.id, r.amount, r.hour, r.day_of_week, r.merchant_category, r.transaction_type, r.fraud]);
      if (rows.length > 0) yield trainingPage(rows);
      if (rows.length < pageRows) return;
      next = Number(rows[rows.length - 1][0]) + 1;
    }
  }

  async registerModel(
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
  ): Promise<ModelVersion> {
    const trainedAt = isoOf(new Date(model.trained_at), 'trained_at');
    return this.tx(async (c) => {
      if (activate) await lockModels(c);
      // Re-registering a version keeps the stored row (a version is a content hash: same version, same model).
      await c.query(
        `INSERT INTO model_versions (version, format, options, trained_at, rows, metrics, model, created_at)
         VALUES ($1, $2, $3::jsonb, $4::timestamptz, $5, $6::jsonb, $7, $8::timestamptz) ON CONFLICT (version) DO NOTHING`,
        [
          model.version,
          model.format,
          JSON.stringify(model.options ?? null),
          trainedAt,
          model.rows,
          jsonOrNull(model.metrics),
          model.model,
          now(),
        ],
      );
      const id = (await c.query('SELECT id FROM model_versions WHERE version = $1', [model.version])).rows[0]
        .id as number;
      if (activate) await setActive(c, id);
      return (await modelRow(c, id, false))!;
    });
  }

  async listModels(): Promise<ModelVersion[]> {
    return await this.query<ModelVersion>(`SELECT ${MODEL_COLUMNS} FROM model_versions ORDER BY id`);
  }

  async getModel(versionOrId: string): Promise<(ModelVersion & { model: string }) | null> {
    const id = await findModel(this.pool, versionOrId);
    return id === null ? null : ((await modelRow(this.pool, id, true)) as ModelVersion & { model: string });
  }

  async activateModel(versionOrId: string): Promise<ModelVersion | null> {
    return this.tx(async (c) => {
      await lockModels(c);
      const id = await findModel(c, versionOrId);
      if (id === null) return null;
      await setActive(c, id);
      return modelRow(c, id, false);
    });
  }

  async deactivateModels(): Promise<ModelVersion | null> {
    return this.tx(async (c) => {
      await lockModels(c);
      const { rows } = await c.query('UPDATE model_versions SET active = false WHERE active RETURNING id');
      return rows.length === 0 ? null : modelRow(c, rows[0].id as number, false);
    });
  }

  async activeModel(): Promise<(ModelVersion & { model: string }) | null> {
    const [row] = await this.query<ModelVersion & { model: string }>(
      `SELECT ${MODEL_COLUMNS}, model FROM model_versions WHERE active`,
    );
    return row ?? null;
  }

  async createKey(name: string, role: Role, keyHash: string): Promise<ApiKey> {
    checkText('name', name);
    const [row] = await this.query<ApiKey>(
      `INSERT INTO api_keys (name, role, key_hash, created_at) VALUES ($1, $2, $3, $4::timestamptz) RETURNING ${KEY_COLUMNS}`,
      [name, role, keyHash, now()],
    );
    return row;
  }

  async listKeys(): Promise<ApiKey[]> {
    return await this.query<ApiKey>(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY id`);
  }

  async getKey(id: number): Promise<(ApiKey & { key_hash: string }) | null> {
    if (asId(id) === null) return null;
    const [row] = await this.query<ApiKey & { key_hash: string }>(
      `SELECT ${KEY_COLUMNS}, key_hash FROM api_keys WHERE id = $1`,
      [id],
    );
    return row ?? null;
  }

  async revokeKey(id: number): Promise<ApiKey | null> {
    if (asId(id) === null) return null;
    // coalesce: revoking twice keeps the first revocation time.
    const [row] = await this.query<ApiKey>(
      `UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2::timestamptz) WHERE id = $1 RETURNING ${KEY_COLUMNS}`,
      [id, now()],
    );
    return row ?? null;
  }

  async touchKey(id: number): Promise<void> {
    if (asId(id) === null) return;
    await this.query('UPDATE api_keys SET last_used_at = $2::timestamptz WHERE id = $1', [id, now()]);
  }

  async createUser(username: string, role: Role, passwordHash: string): Promise<User> {
    checkText('username', username);
    const at = now();
    const [row] = await this.query<User>(
      `INSERT INTO users (username, role, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4::timestamptz, $4::timestamptz)
       ON CONFLICT (username) DO NOTHING RETURNING ${USER_COLUMNS}`,
      [username, role, passwordHash, at],
    );
    if (!row) throw new StoreError('invalid', `a user named ${username} already exists`, { field: 'username' });
    return row;
  }

  async listUsers(): Promise<User[]> {
    return await this.query<User>(`SELECT ${USER_COLUMNS} FROM users ORDER BY username COLLATE "C"`);
  }

  async getUser(username: string): Promise<UserCredentials | null> {
    if (unstorableText(username) !== null) return null;
    const [row] = await this.query<UserCredentials>(
      `SELECT ${USER_COLUMNS}, password_hash, token_generation FROM users WHERE username = $1`,
      [username],
    );
    return row ?? null;
  }

  async getUserById(id: number): Promise<UserCredentials | null> {
    if (asId(id) === null) return null;
    const [row] = await this.query<UserCredentials>(
      `SELECT ${USER_COLUMNS}, password_hash, token_generation FROM users WHERE id = $1`,
      [id],
    );
    return row ?? null;
  }

  async disableUser(username: string): Promise<User | null> {
    if (unstorableText(username) !== null) return null;
    const [row] = await this.query<User>(
      `UPDATE users SET disabled_at = coalesce(disabled_at, $2::timestamptz), updated_at = greatest($2::timestamptz, updated_at),
       token_generation = token_generation + 1 WHERE username = $1 RETURNING ${USER_COLUMNS}`,
      [username, now()],
    );
    return row ?? null;
  }

  async setUserPassword(username: string, passwordHash: string): Promise<User | null> {
    if (unstorableText(username) !== null) return null;
    const [row] = await this.query<User>(
      `UPDATE users SET password_hash = $2, updated_at = greatest($3::timestamptz, updated_at),
       token_generation = token_generation + 1 WHERE username = $1 RETURNING ${USER_COLUMNS}`,
      [username, passwordHash, now()],
    );
    return row ?? null;
  }

  async countUsers(): Promise<number> {
    const [row] = await this.query('SELECT count(*) AS n FROM users');
    return Number(row.n);
  }

  async countActiveUsers(): Promise<number> {
    const [row] = await this.query('SELECT count(*) AS n FROM users WHERE disabled_at IS NULL');
    return Number(row.n);
  }

  async keepSecret(name: string, value: string): Promise<string> {
    // The row inserted now, or the one a concurrent caller stored first. When that caller commits while this
    // statement waits on its row, ON CONFLICT skips it but the statement's snapshot predates it, so neither
    // branch returns a row: a second statement (a new snapshot) sees it.
    for (let attempt = 0; attempt < 3; attempt++) {
      const [row] = await this.query(
        `WITH added AS (INSERT INTO daemon_secrets (name, value, created_at) VALUES ($1, $2, $3::timestamptz)
           ON CONFLICT (name) DO NOTHING RETURNING value)
         SELECT value FROM added UNION ALL SELECT value FROM daemon_secrets WHERE name = $1 LIMIT 1`,
        [name, value, now()],
      );
      if (row) return row.value as string;
    }
    throw new StoreError('unavailable', `could not read back the stored secret "${name}"`);
  }

  async countActiveKeys(): Promise<number> {
    const [row] = await this.query('SELECT count(*) AS n FROM api_keys WHERE revoked_at IS NULL');
    return row.n as number;
  }

  async countKeysEver(): Promise<number> {
    const [row] = await this.query('SELECT count(*) AS n FROM api_keys');
    return Number(row.n);
  }

  async rehashKey(id: number, oldHash: string, newHash: string): Promise<void> {
    if (asId(id) === null) return;
    await this.query('UPDATE api_keys SET key_hash = $3 WHERE id = $1 AND key_hash = $2', [id, oldHash, newHash]);
  }

  async listRules(): Promise<RiskRule[]> {
    return (await this.query(
      `SELECT ${RISK_RULE_COLUMNS} FROM risk_rules ORDER BY name COLLATE "C"`,
    )) as unknown as RiskRule[];
  }

  async getRule(name: string): Promise<RiskRule | null> {
    if (unstorableText(name) !== null) return null;
    const [row] = await this.query(`SELECT ${RISK_RULE_COLUMNS} FROM risk_rules WHERE name = $1`, [name]);
    return (row as unknown as RiskRule | undefined) ?? null;
  }

  async addRule(rule: NewRiskRule, changedBy: string): Promise<RiskRule> {
    checkRiskRule(rule, changedBy);
    const at = now();
    return this.tx(async (c) => {
      const { rows } = await c.query(
        `INSERT INTO risk_rules (name, expression, action, description, enabled, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, true, $5, $6::timestamptz, $6::timestamptz)
         ON CONFLICT (name) DO NOTHING RETURNING ${RISK_RULE_COLUMNS}`,
        [rule.name, rule.expression, rule.action, rule.description, changedBy, at],
      );
      if (!rows[0]) throw new StoreError('conflict', `a rule named ${rule.name} already exists`, { field: 'name' });
      const added = rows[0] as RiskRule;
      await ruleChanged(c, added, 'added', changedBy, at);
      return added;
    });
  }

  async setRuleEnabled(name: string, enabled: boolean, changedBy: string): Promise<RiskRule | null> {
    checkText('changed_by', changedBy);
    if (unstorableText(name) !== null) return null;
    const at = now();
    return this.tx(async (c) => {
      const { rows } = await c.query(
        `UPDATE risk_rules SET enabled = $2, updated_at = greatest($3::timestamptz, updated_at)
         WHERE name = $1 AND enabled = NOT $2 RETURNING ${RISK_RULE_COLUMNS}`,
        [name, enabled, at],
      );
      if (!rows[0]) {
        const current = await c.query(`SELECT ${RISK_RULE_COLUMNS} FROM risk_rules WHERE name = $1`, [name]);
        return (current.rows[0] as RiskRule | undefined) ?? null;
      }
      const changed = rows[0] as RiskRule;
      await ruleChanged(c, changed, enabled ? 'enabled' : 'disabled', changedBy, at);
      return changed;
    });
  }

  async updateRule(name: string, update: RiskRuleUpdate, changedBy: string): Promise<RiskRule | null> {
    if (unstorableText(name) !== null) return null;
    return this.tx(async (c) => {
      const { rows } = await c.query(`SELECT ${RISK_RULE_COLUMNS} FROM risk_rules WHERE name = $1 FOR UPDATE`, [name]);
      if (!rows[0]) return null;
      const current = rows[0] as RiskRule;
      const { rule, changes } = updatedRule(current, update, changedBy);
      if (changes.length === 0) return current;
      const at = now();
      const updated = await c.query(
        `UPDATE risk_rules SET expression = $2, action = $3, description = $4, enabled = $5,
           updated_at = greatest($6::timestamptz, updated_at)
         WHERE name = $1 RETURNING ${RISK_RULE_COLUMNS}`,
        [name, rule.expression, rule.action, rule.description, rule.enabled, at],
      );
      for (const ch of changes) await ruleChanged(c, ch.rule, ch.change, changedBy, at);
      return updated.rows[0] as RiskRule;
    });
  }

  async removeRule(name: string, changedBy: string): Promise<RiskRule | null> {
    checkText('changed_by', changedBy);
    if (unstorableText(name) !== null) return null;
    const at = now();
    return this.tx(async (c) => {
      const { rows } = await c.query(`DELETE FROM risk_rules WHERE name = $1 RETURNING ${RISK_RULE_COLUMNS}`, [name]);
      if (!rows[0]) return null;
      const removed = rows[0] as RiskRule;
      await ruleChanged(c, removed, 'removed', changedBy, at);
      return removed;
    });
  }

  async ruleHistory(name?: string): Promise<RiskRuleHistoryEntry[]> {
    if (name !== undefined && unstorableText(name) !== null) return [];
    const rows =
      name === undefined
        ? await this.query(`SELECT ${RISK_RULE_HISTORY_COLUMNS} FROM risk_rule_history ORDER BY id`)
        : await this.query(
            `SELECT ${RISK_RULE_HISTORY_COLUMNS} FROM risk_rule_history WHERE rule_name = $1 ORDER BY id`,
            [name],
          );
    return rows as unknown as RiskRuleHistoryEntry[];
  }

  async rulesVersion(): Promise<number> {
    const [row] = await this.query('SELECT COALESCE(MAX(id), 0) AS version FROM risk_rule_history');
    return Number(row.version);
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  /** Constraint failures are the caller's bad input; connection failures are unavailability. Never the URL. */
  private mapError(e: unknown): unknown {
    if (e instanceof StoreError || e instanceof RowsAbandoned) return e;
    // What the server rejected carries a SQLSTATE (a DatabaseError); anything else from pg is the connection
    // failing: refused, reset, "Connection terminated unexpectedly", a connect timeout.
    if (!(e instanceof pg.DatabaseError)) {
      return new StoreError('unavailable', `lost the database ${this.display}: ${reason(e)}`, { cause: e });
    }
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') return e;
    // 23: integrity constraint violated; 22: data exception (e.g. an integer out of the column's range).
    if (code.startsWith('23') || code.startsWith('22'))
      return new StoreError('invalid', `rejected by the database: ${reason(e)}`, { cause: e });
    if (/^(08|57P0|53)/.test(code) || /^E[A-Z]+$/.test(code)) {
      return new StoreError('unavailable', `lost the database ${this.display}: ${reason(e)}`, { cause: e });
    }
    // The server's set-up, not the caller's input nor a bug of ours: a role without the privilege (42501), a
    // read-only server (25006), a conflict to retry (40), a lock not available (55), a statement cancelled
    // (57014: statement_timeout), the server's own failures (58, XX).
    if (/^(42501|25006|40|55|57|58|XX)/.test(code)) {
      return new StoreError('unavailable', `the database ${this.display} refused: ${reason(e)}`, { cause: e });
    }
    return e;
  }
}

/** The history row of a rule's change, inside the change's transaction. */
async function ruleChanged(
  c: Queryable,
  rule: RiskRule,
  change: RiskRuleChange,
  changedBy: string,
  at: string,
): Promise<void> {
  await c.query(
    `INSERT INTO risk_rule_history (rule_name, change, expression, action, description, enabled, changed_by, changed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz)`,
    [rule.name, change, rule.expression, rule.action, rule.description, rule.enabled, changedBy, at],
  );
}

/** The id of a model named by version, else by numeric id. */
async function findModel(q: Queryable, versionOrId: string): Promise<number | null> {
  const ref = modelRef(versionOrId);
  const { rows } = await q.query(
    'SELECT id FROM model_versions WHERE version = $1 OR id = $2 ORDER BY version = $1 DESC LIMIT 1',
    [ref.version, ref.id],
  );
  return rows.length ? (rows[0].id as number) : null;
}

/**
 * Serialises activations (otherwise two could each deactivate the rest, then collide on the one-active index).
 * Taken first in the transaction: upgrading from the insert's lock later could deadlock two registrations.
 */
async function lockModels(c: Queryable): Promise<void> {
  await c.query('LOCK TABLE model_versions IN SHARE ROW EXCLUSIVE MODE');
}

/** Makes one model the active one; the others first, because the unique index is checked row by row. */
async function setActive(c: Queryable, id: number): Promise<void> {
  await c.query('UPDATE model_versions SET active = false WHERE active AND id <> $1', [id]);
  await c.query('UPDATE model_versions SET active = true WHERE id = $1 AND NOT active', [id]);
}

async function modelRow(q: Queryable, id: number, withModel: boolean): Promise<ModelVersion | null> {
  const { rows } = await q.query(
    `SELECT ${MODEL_COLUMNS}${withModel ? ', model' : ''} FROM model_versions WHERE id = $1`,
    [id],
  );
  return (rows[0] as ModelVersion | undefined) ?? null;
}

/** STATS_SQL's parameters: one array per column of the hour sums, and the minute they are counted in. */
function statsParams(hours: HourSums[], createdAt: string): unknown[] {
  return [
    hours.map((h) => h.hour),
    hours.map((h) => h.total),
    hours.map((h) => h.anomalies),
    hours.map((h) => h.score_sum),
    minuteOf(createdAt),
    hours.map((h) => h.elevated),
  ];
}

/** A row read with FEEDBACK_JOINED: the transaction and its verdict (null without one). */
function withFeedback(row: Row): StoredTransaction & { feedback: Feedback | null } {
  const { f_id, f_is_correct, f_notes, f_created_at, f_updated_at, f_recorded_by, ...transaction } = row;
  const feedback =
    f_id === null
      ? null
      : ({
          id: f_id,
          transaction_id: transaction.id,
          is_correct: f_is_correct,
          notes: f_notes,
          created_at: f_created_at,
          updated_at: f_updated_at,
          recorded_by: f_recorded_by,
        } as Feedback);
  return { ...(withDecision(transaction) as unknown as StoredTransaction), feedback };
}
