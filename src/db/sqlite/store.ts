import Database from 'better-sqlite3';
import type {
  ApiKey,
  DashboardStats,
  DecisionSummary,
  Feedback,
  FeedbackHistoryEntry,
  ModelVersion,
  NewRiskRule,
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
  checkTransaction,
  decisionToCode,
  explanationText,
  isoOf,
  matchedRulesText,
  withDecision,
  jsonOrNull,
  minuteOf,
  modelRef,
  nowIso as now,
  HourTally,
  RISK_RULE_COLUMNS,
  RISK_RULE_HISTORY_COLUMNS,
  statsBoundary,
  StoreError,
  TRANSACTION_COLUMNS,
  type HourSums,
  TRAFFIC_SLICE_ROWS,
  trafficSlice,
  checkTrainingQuery,
  TRAINING_PAGE_ROWS,
  trainingPage,
  unstorableText,
} from '../shared.js';
import { migrations } from './migrations.js';

/**
 * Rows per multi-row INSERT, largest first (18 columns: at most 1,152 parameters, well under SQLite's limit). The
 * smaller ones take what is left: the daemon's group commits are tens of rows, which went one statement a row.
 */
const ROWS_PER_INSERT = [64, 16, 4, 1];

type Row = Record<string, unknown>;

/** Columns stored as a text_values id (migration 008), and the row column holding it. */
const TEXT_REFS: Partial<Record<string, string>> = {
  risk_level: 'risk_level_ref',
  model_version: 'model_ref',
  source: 'source_ref',
  batch_id: 'batch_ref',
};
const TEXT_OF = (ref: string) => `(SELECT value FROM text_values WHERE id = t.${ref})`;
/** The stored columns under their API names: text joined back, created_at as epoch ms (toTransaction formats it). */
const TX_COLUMNS = TRANSACTION_COLUMNS.map((c) => {
  const ref = TEXT_REFS[c];
  if (ref) return `${TEXT_OF(ref)} AS ${c}`;
  if (c === 'decision') return 'COALESCE(t.decision, t.is_fraudulent) AS decision'; // before 010: the model's flag
  return c === 'created_at' ? 't.created_ms AS created_at' : `t.${c}`;
}).join(', ');
/** The row's columns as written by insertTransactions. */
const INSERT_COLUMNS = TRANSACTION_COLUMNS.slice(1).map((c) => TEXT_REFS[c] ?? (c === 'created_at' ? 'created_ms' : c));
/** INSERTs of 64, 16, 4 and 1 rows, made once (not per call: the daemon inserts thousands of small groups). */
const INSERT_SQL = ROWS_PER_INSERT.map(
  (k) =>
    `INSERT INTO transactions (${INSERT_COLUMNS.join(', ')}) VALUES ${Array(k)
      .fill(`(${INSERT_COLUMNS.map(() => '?').join(', ')})`)
      .join(', ')}`,
);
/** feedback.transaction_created_at keeps the ISO text: the transaction's created_ms formatted like nowIso. */
const ISO_OF_MS =
  "strftime('%Y-%m-%dT%H:%M:%S', created_ms / 1000, 'unixepoch') || printf('.%03dZ', created_ms % 1000)";
const MODEL_COLUMNS = 'id, version, format, options, trained_at, rows, metrics, active';
const KEY_COLUMNS = 'id, name, role, created_at, last_used_at, revoked_at';
const FEEDBACK_COLUMNS = 'id, transaction_id, is_correct, notes, created_at, updated_at, recorded_by';
const USER_COLUMNS = 'id, username, role, created_at, updated_at, disabled_at';
/** A transaction's verdict beside its columns (`LEFT JOIN feedback f`), under f_ names. */
const FEEDBACK_JOINED =
  'f.id AS f_id, f.is_correct AS f_is_correct, f.notes AS f_notes, f.created_at AS f_created_at, f.updated_at AS f_updated_at, f.recorded_by AS f_recorded_by';

/**
 * The Store over one SQLite file (better-sqlite3, synchronous; the async methods just wrap it).
 *
 * Several processes may write one file at once (two `secureflow score` runs, a CLI beside the daemon): WAL lets
 * readers and one writer proceed together, busy_timeout makes a second writer wait instead of failing, and every
 * multi-statement write begins IMMEDIATE (takes the write lock up front) so that a transaction never has to
 * upgrade a read lock, the one case where SQLite returns SQLITE_BUSY without waiting. The daemon opens with
 * `lockWaitMs` instead of the busy timeout: SQLite's wait is a sleep on the event loop's thread.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  appliedOnOpen: readonly string[] = [];
  private readonly db: Database.Database;
  private statements = new Map<string, Database.Statement>();

  private constructor(
    db: Database.Database,
    /** Wait for another process's write lock with timers (ms), not in SQLite's busy handler; 0: use the handler. */
    private readonly lockWaitMs: number,
  ) {
    this.db = db;
  }

  /**
   * Opens (creating if needed) the file and applies pending migrations. The file's directory must exist.
   * `lockWaitMs` (the daemon): after opening, SQLite never waits for a lock itself (its busy handler sleeps and
   * would block the event loop); writes retry on timers for up to that long instead.
   */
  static async open(path: string, options: { lockWaitMs?: number } = {}): Promise<SqliteStore> {
    const db = new Database(path, { timeout: 10_000 }); // the busy timeout, in ms
    try {
      await enableWal(db);
      db.pragma('synchronous = NORMAL'); // with WAL: durable at checkpoints, never corrupt; much faster commits
      db.pragma('foreign_keys = ON');
      // Multi-row INSERTs keep a statement journal (to undo a statement that fails halfway); in temporary files
      // that was ~70% of all write calls of a bulk store (strace). Memory: a few pages per statement.
      db.pragma('temp_store = MEMORY');
      // 4 MiB of page cache (the build's default is 16): inserts append at the right edge of each B-tree, and reads
      // go through indexes, so a bigger cache only raised a bulk store's peak memory (1M rows: ~220 -> ~195 MB).
      db.pragma('cache_size = -4000');
      const lockWaitMs = options.lockWaitMs ?? 0;
      const store = new SqliteStore(db, lockWaitMs);
      store.appliedOnOpen = await store.migrate();
      if (lockWaitMs > 0) db.pragma('busy_timeout = 0');
      return store;
    } catch (e) {
      db.close();
      throw e;
    }
  }

  async migrate(): Promise<string[]> {
    const pending = () => {
      const hasTable = this.db
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
        .get();
      const applied = new Set(hasTable ? this.db.prepare('SELECT name FROM schema_migrations').pluck().all() : []);
      return migrations.filter((m) => !applied.has(m.name));
    };
    // Most opens find nothing to do: check without the write lock, so that opening never waits for a writer.
    if (pending().length === 0) return [];
    const apply = this.db.transaction(() => {
      this.db.exec(
        'CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL) STRICT',
      );
      const todo = pending(); // again, under the lock: another process may have applied them meanwhile
      for (const m of todo) {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)').run(m.name, now());
      }
      return todo.map((m) => m.name);
    });
    const applied = apply.immediate();
    if (applied.includes('008_lean_transactions')) {
      // 008 rewrites every row at about half its size, leaving the file as big as before (half of it free
      // pages): compact it once (1M rows: ~1 s, 300 MB -> 106 MB). Outside the migration's transaction, as VACUUM
      // must be; skipped if another connection is busy with the file (free pages are reused by later inserts).
      try {
        this.db.exec('VACUUM');
      } catch (e) {
        if (!String((e as { code?: unknown }).code).startsWith('SQLITE_BUSY')) throw e;
      }
    }
    return applied;
  }

  /** Prepared once per distinct SQL text, then reused. */
  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /**
   * Every write: an IMMEDIATE transaction, with constraint and lock failures as StoreErrors. With lockWaitMs, a
   * lock held elsewhere is retried with growing pauses (2 ms .. 50 ms) on timers, so other requests go on.
   */
  private async write<T>(fn: () => T): Promise<T> {
    const deadline = Date.now() + this.lockWaitMs;
    for (let pause = 2; ; pause = Math.min(50, pause * 2)) {
      try {
        return this.db.transaction(fn).immediate();
      } catch (e) {
        const busy = String((e as { code?: unknown }).code).startsWith('SQLITE_BUSY');
        if (!busy || Date.now() + pause > deadline) throw mapError(e, this.db.name);
      }
      await new Promise((resolve) => setTimeout(resolve, pause * (0.5 + Math.random())));
    }
  }

  async insertTransactions(rows: TransactionRows): Promise<number[]> {
    if (rows.length === 0) return [];
    // Rows still being made: all of them first. A transaction held open across awaits would let this connection's
    // other readers see its rows before they are committed; this one is written in one synchronous call.
    await allRows(rows);
    const columns = INSERT_COLUMNS;
    const inserts = INSERT_SQL.map((sql) => this.stmt(sql));
    const addStats = this.stmt(
      `INSERT INTO transaction_stats (bucket, hour, total, anomalies, score_sum, elevated) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (bucket, hour) DO UPDATE SET
         total = total + excluded.total, anomalies = anomalies + excluded.anomalies, score_sum = score_sum + excluded.score_sum,
         elevated = elevated + excluded.elevated`,
    );
    const addText = this.stmt('INSERT INTO text_values (value) VALUES (?) ON CONFLICT (value) DO NOTHING');
    const textId = this.stmt('SELECT id FROM text_values WHERE value = ?').pluck();
    return this.write(() => {
      const createdAt = now(); // taken under the write lock, so created_at order follows id order across processes
      const createdMs = Date.parse(createdAt);
      // A few distinct texts per call (levels, model, source, batch): looked up once each, inside this transaction
      // (an id cached across transactions could belong to one that rolled back); inserted only when missing.
      const refs = new Map<string, number>();
      const ref = (text: string | null): number | null => {
        if (text === null) return null;
        let id = refs.get(text);
        if (id === undefined) {
          id = textId.get(text) as number | undefined;
          if (id === undefined) {
            addText.run(text);
            id = textId.get(text) as number;
          }
          refs.set(text, id);
        }
        return id;
      };
      // Each row is checked, summed into the per-hour rollups and copied into the parameters, then dropped.
      const n = rows.length;
      const hours = new HourTally();
      const fill = (i: number, p: unknown[], o: number) => {
        const r = rows.at(i)!;
        checkTransaction(r, i, n);
        hours.add(r);
        p[o] = r.reference;
        p[o + 1] = r.amount;
        p[o + 2] = r.hour;
        p[o + 3] = r.day_of_week;
        p[o + 4] = r.merchant_category;
        p[o + 5] = r.transaction_type;
        p[o + 6] = r.is_fraudulent ? 1 : 0;
        p[o + 7] = r.anomaly_score;
        p[o + 8] = r.risk_score;
        p[o + 9] = ref(r.risk_level);
        p[o + 10] = r.confidence;
        p[o + 11] = explanationText(r);
        p[o + 12] = ref(r.model_version);
        p[o + 13] = ref(r.source);
        p[o + 14] = ref(r.batch_id);
        p[o + 15] = decisionToCode(r.decision);
        p[o + 16] = r.matched_rules.length === 0 ? null : matchedRulesText(r.matched_rules);
        p[o + 17] = createdMs;
        return p;
      };
      const ids = new Array<number>(n);
      let i = 0;
      // Many rows per statement: a quarter less time per row than one statement each (bench/). Under the write
      // lock, a statement's rows get consecutive rowids, so the ids follow from the last one. One parameter array
      // per statement size, refilled in place: a million rows otherwise leave tens of millions of short-lived
      // arrays behind, and the garbage is what drove peak memory (bench/).
      ROWS_PER_INSERT.forEach((k, s) => {
        if (i + k > n) return;
        const params: unknown[] = new Array(k * columns.length);
        for (; i + k <= n; i += k) {
          for (let r = 0; r < k; r++) fill(i + r, params, r * columns.length);
          const last = Number(inserts[s].run(params).lastInsertRowid);
          for (let r = 0; r < k; r++) ids[i + r] = last - k + 1 + r;
        }
      });
      for (const h of hours.sums())
        addStats.run(minuteOf(createdAt), h.hour, h.total, h.anomalies, h.score_sum, h.elevated);
      return ids;
    });
  }

  async getTransaction(id: number): Promise<(StoredTransaction & { feedback: Feedback | null }) | null> {
    if (asId(id) === null) return null;
    const row = this.stmt(`SELECT ${TX_COLUMNS} FROM transactions t WHERE t.id = ?`).get(id) as Row | undefined;
    if (!row) return null;
    const feedback = this.stmt(`SELECT ${FEEDBACK_COLUMNS} FROM feedback WHERE transaction_id = ?`).get(id) as
      | Row
      | undefined;
    return { ...toTransaction(row), feedback: feedback ? toFeedback(feedback) : null };
  }

  async reviewedTransactions(): Promise<ReviewedTransaction[]> {
    const rows = this.stmt(
      `SELECT t.id, t.amount, t.hour, t.day_of_week, t.merchant_category, t.transaction_type,
              t.is_fraudulent, f.is_correct
       FROM transactions t JOIN feedback f ON f.transaction_id = t.id ORDER BY t.id`,
    ).all() as (Omit<ReviewedTransaction, 'is_fraudulent' | 'is_correct'> & {
      is_fraudulent: number;
      is_correct: number;
    })[];
    return rows.map((r) => ({ ...r, is_fraudulent: r.is_fraudulent === 1, is_correct: r.is_correct === 1 }));
  }

  async recentFlagged(since: Date, limit: number): Promise<(StoredTransaction & { feedback: Feedback | null })[]> {
    checkPage(limit, 0);
    const sinceMs = Date.parse(isoOf(since, 'since'));
    const rows = this.stmt(
      `SELECT ${TX_COLUMNS}, ${FEEDBACK_JOINED} FROM transactions t LEFT JOIN feedback f ON f.transaction_id = t.id
       WHERE t.is_fraudulent = 1 AND t.created_ms >= ? ORDER BY t.created_ms DESC, t.id DESC LIMIT ?`,
    ).all(sinceMs, limit) as Row[];
    return rows.map((row) => {
      const { f_id, f_is_correct, f_notes, f_created_at, f_updated_at, f_recorded_by, ...transaction } = row;
      const feedback =
        f_id === null
          ? null
          : toFeedback({
              id: f_id,
              transaction_id: transaction.id,
              is_correct: f_is_correct,
              notes: f_notes,
              created_at: f_created_at,
              updated_at: f_updated_at,
              recorded_by: f_recorded_by,
            });
      return { ...toTransaction(transaction), feedback };
    });
  }

  async listTransactions(query: TransactionQuery): Promise<{ rows: StoredTransaction[]; total: number }> {
    const offset = query.offset ?? 0;
    checkPage(query.limit, offset);
    const since = query.since === undefined ? null : isoOf(query.since, 'since');
    const sinceMs = since === null ? null : Date.parse(since);
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.anomaliesOnly) where.push('t.is_fraudulent = 1'); // exactly as the partial indexes say
    if (sinceMs !== null) where.push('t.created_ms >= ?'), params.push(sinceMs);
    // An unknown batch has no text_values row: NULL, which matches nothing.
    if (query.batchId !== undefined)
      where.push('t.batch_ref = (SELECT id FROM text_values WHERE value = ?)'), params.push(query.batchId);
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    // The page only: the total counts every row of the query.
    const page = [...where];
    const pageParams = [...params];
    if (query.before !== undefined) {
      const beforeMs = Date.parse(isoOf(new Date(query.before.created_at), 'before.created_at'));
      page.push('t.created_ms <= ? AND (t.created_ms < ? OR t.id < ?)');
      pageParams.push(beforeMs, beforeMs, query.before.id);
    }
    const pageClause = page.length ? `WHERE ${page.join(' AND ')}` : '';
    // One read transaction: the page and the total come from the same snapshot.
    return this.db.transaction(() => {
      const rows = this.stmt(
        `SELECT ${TX_COLUMNS} FROM transactions t ${pageClause} ORDER BY t.created_ms DESC, t.id DESC LIMIT ? OFFSET ?`,
      ).all(...pageParams, query.limit, offset) as Row[];
      return { rows: rows.map(toTransaction), total: this.count(query, clause, params, since) };
    })();
  }

  /** A batch is counted row by row (its index is small); everything else mostly from transaction_stats. */
  private count(query: TransactionQuery, clause: string, params: unknown[], since: string | null): number {
    if (query.batchId !== undefined)
      return this.stmt(`SELECT count(*) FROM transactions t ${clause}`)
        .pluck()
        .get(...params) as number;
    const boundary = statsBoundary(since);
    return this.stmt(
      `SELECT (SELECT coalesce(sum(${query.anomaliesOnly ? 'anomalies' : 'total'}), 0) FROM transaction_stats WHERE bucket >= ?)
            + (SELECT count(*) FROM transactions t WHERE ${query.anomaliesOnly ? 't.is_fraudulent = 1 AND ' : ''}t.created_ms >= ? AND t.created_ms < ?)`,
    )
      .pluck()
      .get(boundary, Date.parse(since ?? boundary), Date.parse(boundary)) as number;
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
    // Under the write lock: read the current verdict, keep it as history, replace it (or insert the first).
    return this.write(() => {
      const at = now();
      const current = this.stmt(`SELECT ${FEEDBACK_COLUMNS} FROM feedback WHERE transaction_id = ?`).get(
        transactionId,
      ) as Row | undefined;
      if (!current) {
        const row = this.stmt(
          `INSERT INTO feedback (transaction_id, transaction_created_at, is_correct, notes, created_at, updated_at, recorded_by)
           SELECT id, ${ISO_OF_MS}, ?, ?, ?, ?, ? FROM transactions WHERE id = ? RETURNING ${FEEDBACK_COLUMNS}`,
        ).get(isCorrect ? 1 : 0, notes, at, at, recordedBy, transactionId) as Row | undefined;
        return row ? { ...toFeedback(row), previous: null } : null;
      }
      const previous = toFeedback(current);
      this.stmt(
        'INSERT INTO feedback_history (transaction_id, is_correct, notes, recorded_by, recorded_at, replaced_at) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(transactionId, previous.is_correct ? 1 : 0, previous.notes, previous.recorded_by, previous.updated_at, at);
      const row = this.stmt(
        `UPDATE feedback SET is_correct = ?, notes = ?, recorded_by = ?, updated_at = max(?, updated_at) WHERE transaction_id = ? RETURNING ${FEEDBACK_COLUMNS}`,
      ).get(isCorrect ? 1 : 0, notes, recordedBy, at, transactionId) as Row;
      return {
        ...toFeedback(row),
        previous: replacedVerdict(previous),
      };
    });
  }

  async feedbackHistory(transactionId: number): Promise<FeedbackHistoryEntry[]> {
    if (asId(transactionId) === null) return [];
    const rows = this.stmt(
      'SELECT is_correct, notes, recorded_by, recorded_at, replaced_at FROM feedback_history WHERE transaction_id = ? ORDER BY id',
    ).all(transactionId) as Row[];
    return rows.map((r) => ({ ...r, is_correct: r.is_correct === 1 }) as unknown as FeedbackHistoryEntry);
  }

  async feedbackOf(transactionIds: readonly number[]): Promise<Feedback[]> {
    const ids = checkIdList(transactionIds);
    if (ids.length === 0) return [];
    return (
      this.stmt(
        `SELECT ${FEEDBACK_COLUMNS} FROM feedback WHERE transaction_id IN (SELECT value FROM json_each(?)) ORDER BY transaction_id`,
      ).all(JSON.stringify(ids)) as Row[]
    ).map(toFeedback);
  }

  async dashboard(since: Date): Promise<DashboardStats> {
    const from = isoOf(since, 'since');
    const boundary = statsBoundary(from);
    return this.db.transaction(() => {
      // Whole minutes from transaction_stats, the first partial minute from the rows themselves.
      const hours = this.stmt(
        `SELECT hour, sum(total) AS total, sum(anomalies) AS anomalies, total(score_sum) AS score_sum, sum(elevated) AS elevated
         FROM transaction_stats WHERE bucket >= ? GROUP BY hour
         UNION ALL
         SELECT hour, count(*), sum(is_fraudulent), total(anomaly_score), sum(risk_level_ref IS (SELECT id FROM text_values WHERE value = 'elevated'))
         FROM transactions WHERE created_ms >= ? AND created_ms < ? GROUP BY hour`,
      ).all(boundary, Date.parse(from), Date.parse(boundary)) as HourSums[];
      const feedback = this.stmt(
        `SELECT count(*) AS total, coalesce(sum(is_correct), 0) AS positive FROM feedback WHERE transaction_created_at >= ?`,
      ).get(from) as { total: number; positive: number };
      return buildDashboard(hours, feedback);
    })();
  }

  async decisionSummary(since: Date, topRules: number): Promise<DecisionSummary> {
    const from = isoOf(since, 'since');
    const boundary = statsBoundary(from);
    const fromMs = Date.parse(from);
    // One statement, so totals and rule-matched rows are one snapshot. The rule-matched rows are read through the
    // partial, covering index transactions_rule_matches (migration 012): the rows no rule matched are never touched.
    const rows = this.stmt(
      `SELECT 0 AS kind, NULL AS rules, NULL AS d, sum(total) AS n, sum(anomalies) AS m FROM transaction_stats WHERE bucket >= ?
       UNION ALL
       SELECT 0, NULL, NULL, count(*), sum(is_fraudulent) FROM transactions WHERE created_ms >= ? AND created_ms < ?
       UNION ALL
       SELECT 1, NULL, coalesce(decision, is_fraudulent), count(*), sum(is_fraudulent)
       FROM transactions WHERE created_ms >= ? AND matched_rules IS NOT NULL GROUP BY 3
       UNION ALL
       SELECT * FROM (SELECT 2, matched_rules, NULL, count(*), NULL FROM transactions
         WHERE created_ms >= ? AND matched_rules IS NOT NULL GROUP BY matched_rules ORDER BY 4 DESC LIMIT ?)`,
    ).all(boundary, fromMs, Date.parse(boundary), fromMs, fromMs, RULE_COMBINATIONS_READ) as DecisionSummaryRow[];
    return buildDecisionSummary(rows, topRules);
  }

  async throughput(since: Date, buckets: number): Promise<{ start: string; total: number; anomalies: number }[]> {
    const from = isoOf(since, 'since');
    const minutes = this.stmt(
      'SELECT bucket, sum(total) AS total, sum(anomalies) AS anomalies FROM transaction_stats WHERE bucket >= ? GROUP BY bucket',
    ).all(statsBoundary(from)) as { bucket: string; total: number; anomalies: number }[];
    return binThroughput(minutes, since, new Date(), buckets);
  }

  async *trafficSlices(
    since: Date,
    modelVersion: string,
    sliceRows = TRAFFIC_SLICE_ROWS,
  ): AsyncGenerator<TrafficSlice> {
    const from = Date.parse(isoOf(since, 'since'));
    // From the window's first id on, by id (the primary key): each slice one short query.
    const first = this.stmt('SELECT min(id) FROM transactions WHERE created_ms >= ?').pluck().get(from) as
      | number
      | null;
    if (first === null) return;
    const model = (this.stmt('SELECT id FROM text_values WHERE value = ?').pluck().get(modelVersion) as number) ?? -1;
    const slice = this.stmt(
      `SELECT id, amount, hour, day_of_week, merchant_category, transaction_type, anomaly_score, model_ref = ?
       FROM transactions WHERE id >= ? AND created_ms >= ? ORDER BY id LIMIT ?`,
    ).raw();
    let next = first;
    for (;;) {
      const rows = slice.all(model, next, from, sliceRows) as unknown[][];
      if (rows.length > 0) yield trafficSlice(rows);
      if (rows.length < sliceRows) return;
      next = (rows[rows.length - 1][0] as number) + 1;
      await new Promise((resolve) => setImmediate(resolve)); // let the event loop serve between slices
    }
  }

  async *trainingPages({
    since,
    untilId,
    pageRows = TRAINING_PAGE_ROWS,
  }: TrainingQuery = {}): AsyncGenerator<TrainingPage> {
    checkTrainingQuery(untilId, pageRows);
    const from = since === undefined ? null : Date.parse(isoOf(since, 'since'));
    // The walk's ends: the window's first id (by the created_ms index) and the highest id now (or untilId).
    const top = this.stmt('SELECT max(id) FROM transactions').pluck().get() as number | null;
    const first = (
      from === null ? 1 : this.stmt('SELECT min(id) FROM transactions WHERE created_ms >= ?').pluck().get(from)
    ) as number | null;
    if (top === null || first === null) return;
    const last = Math.min(untilId ?? top, top);
    const page = this.stmt(
      `SELECT t.id, t.amount, t.hour, t.day_of_week, t.merchant_category, t.transaction_type,
              coalesce(f.is_correct = t.is_fraudulent, 0)
       FROM transactions t LEFT JOIN feedback f ON f.transaction_id = t.id
       WHERE t.id >= ? AND t.id <= ? AND t.created_ms >= ? ORDER BY t.id LIMIT ?`,
    ).raw();
    let next = first;
    while (next <= last) {
      const rows = page.all(next, last, from ?? Number.MIN_SAFE_INTEGER, pageRows) as unknown[][];
      if (rows.length > 0) yield trainingPage(rows);
      if (rows.length < pageRows) return;
      next = (rows[rows.length - 1][0] as number) + 1;
      await new Promise((resolve) => setImmediate(resolve)); // let the event loop serve between pages
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
    return this.write(() => {
      // Re-registering a version keeps the stored row (a version is a content hash: same version, same model).
      this.stmt(
        `INSERT INTO model_versions (version, format, options, trained_at, rows, metrics, model, active, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT (version) DO NOTHING`,
      ).run(
        model.version,
        model.format,
        JSON.stringify(model.options ?? null),
        trainedAt,
        model.rows,
        jsonOrNull(model.metrics),
        model.model,
        now(),
      );
      const id = this.stmt('SELECT id FROM model_versions WHERE version = ?').pluck().get(model.version) as number;
      if (activate) this.setActive(id);
      return this.modelRow(id)!;
    });
  }

  async listModels(): Promise<ModelVersion[]> {
    return (this.stmt(`SELECT ${MODEL_COLUMNS} FROM model_versions ORDER BY id`).all() as Row[]).map(toModel);
  }

  async getModel(versionOrId: string): Promise<(ModelVersion & { model: string }) | null> {
    const id = this.findModel(versionOrId);
    return id === null ? null : this.modelRow(id, true)!;
  }

  async activateModel(versionOrId: string): Promise<ModelVersion | null> {
    return this.write(() => {
      const id = this.findModel(versionOrId);
      if (id === null) return null;
      this.setActive(id);
      return this.modelRow(id)!;
    });
  }

  async deactivateModels(): Promise<ModelVersion | null> {
    return this.write(() => {
      const id = this.stmt('SELECT id FROM model_versions WHERE active = 1').pluck().get() as number | undefined;
      if (id === undefined) return null;
      this.stmt('UPDATE model_versions SET active = 0 WHERE id = ?').run(id);
      return this.modelRow(id)!;
    });
  }

  async activeModel(): Promise<(ModelVersion & { model: string }) | null> {
    const id = this.stmt('SELECT id FROM model_versions WHERE active = 1').pluck().get() as number | undefined;
    return id === undefined ? null : this.modelRow(id, true)!;
  }

  /** The id of a model named by version, else by numeric id. */
  private findModel(versionOrId: string): number | null {
    const ref = modelRef(versionOrId);
    const id = this.stmt('SELECT id FROM model_versions WHERE version = ? OR id = ? ORDER BY version = ? DESC LIMIT 1')
      .pluck()
      .get(ref.version, ref.id, ref.version) as number | undefined;
    return id ?? null;
  }

  /** Deactivates the others first: the unique index on active rows is checked row by row. */
  private setActive(id: number): void {
    this.stmt('UPDATE model_versions SET active = 0 WHERE active = 1 AND id <> ?').run(id);
    this.stmt('UPDATE model_versions SET active = 1 WHERE id = ? AND active = 0').run(id);
  }

  private modelRow(id: number, withModel: true): (ModelVersion & { model: string }) | null;
  private modelRow(id: number, withModel?: false): ModelVersion | null;
  private modelRow(id: number, withModel = false): ModelVersion | null {
    const row = this.stmt(`SELECT ${MODEL_COLUMNS}${withModel ? ', model' : ''} FROM model_versions WHERE id = ?`).get(
      id,
    ) as Row | undefined;
    return row ? toModel(row) : null;
  }

  async createKey(name: string, role: Role, keyHash: string): Promise<ApiKey> {
    checkText('name', name);
    return (await this.write(() =>
      this.stmt(
        `INSERT INTO api_keys (name, role, key_hash, created_at) VALUES (?, ?, ?, ?) RETURNING ${KEY_COLUMNS}`,
      ).get(name, role, keyHash, now()),
    )) as ApiKey;
  }

  async listKeys(): Promise<ApiKey[]> {
    return this.stmt(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY id`).all() as ApiKey[];
  }

  async getKey(id: number): Promise<(ApiKey & { key_hash: string }) | null> {
    if (asId(id) === null) return null;
    return (
      (this.stmt(`SELECT ${KEY_COLUMNS}, key_hash FROM api_keys WHERE id = ?`).get(id) as ApiKey & {
        key_hash: string;
      }) ?? null
    );
  }

  async revokeKey(id: number): Promise<ApiKey | null> {
    if (asId(id) === null) return null;
    // coalesce: revoking twice keeps the first revocation time.
    const row = await this.write(() =>
      this.stmt(`UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? RETURNING ${KEY_COLUMNS}`).get(
        now(),
        id,
      ),
    );
    return (row as ApiKey | undefined) ?? null;
  }

  async touchKey(id: number): Promise<void> {
    if (asId(id) === null) return;
    await this.write(() => this.stmt('UPDATE api_keys SET last_used_at = ? WHERE id = ?').run(now(), id));
  }

  async createUser(username: string, role: Role, passwordHash: string): Promise<User> {
    checkText('username', username);
    return this.write(() => {
      const at = now();
      const row = this.stmt(
        `INSERT INTO users (username, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (username) DO NOTHING RETURNING ${USER_COLUMNS}`,
      ).get(username, role, passwordHash, at, at) as User | undefined;
      if (!row) throw new StoreError('invalid', `a user named ${username} already exists`, { field: 'username' });
      return row;
    });
  }

  async listUsers(): Promise<User[]> {
    return this.stmt(`SELECT ${USER_COLUMNS} FROM users ORDER BY username`).all() as User[];
  }

  async getUser(username: string): Promise<UserCredentials | null> {
    if (unstorableText(username) !== null) return null;
    return (
      (this.stmt(`SELECT ${USER_COLUMNS}, password_hash, token_generation FROM users WHERE username = ?`).get(
        username,
      ) as UserCredentials | undefined) ?? null
    );
  }

  async getUserById(id: number): Promise<UserCredentials | null> {
    if (asId(id) === null) return null;
    return (
      (this.stmt(`SELECT ${USER_COLUMNS}, password_hash, token_generation FROM users WHERE id = ?`).get(id) as
        | UserCredentials
        | undefined) ?? null
    );
  }

  async disableUser(username: string): Promise<User | null> {
    if (unstorableText(username) !== null) return null;
    const row = await this.write(() => {
      const at = now();
      return this.stmt(
        `UPDATE users SET disabled_at = coalesce(disabled_at, ?), updated_at = max(?, updated_at),
         token_generation = token_generation + 1 WHERE username = ? RETURNING ${USER_COLUMNS}`,
      ).get(at, at, username);
    });
    return (row as User | undefined) ?? null;
  }

  async setUserPassword(username: string, passwordHash: string): Promise<User | null> {
    if (unstorableText(username) !== null) return null;
    const row = await this.write(() => {
      const at = now();
      return this.stmt(
        `UPDATE users SET password_hash = ?, updated_at = max(?, updated_at), token_generation = token_generation + 1
         WHERE username = ? RETURNING ${USER_COLUMNS}`,
      ).get(passwordHash, at, username);
    });
    return (row as User | undefined) ?? null;
  }

  async countUsers(): Promise<number> {
    return this.stmt('SELECT count(*) FROM users').pluck().get() as number;
  }

  async countActiveUsers(): Promise<number> {
    return this.stmt('SELECT count(*) FROM users WHERE disabled_at IS NULL').pluck().get() as number;
  }

  async keepSecret(name: string, value: string): Promise<string> {
    return this.write(() => {
      this.stmt(
        'INSERT INTO daemon_secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING',
      ).run(name, value, now());
      return this.stmt('SELECT value FROM daemon_secrets WHERE name = ?').pluck().get(name) as string;
    });
  }

  async countActiveKeys(): Promise<number> {
    return this.stmt('SELECT count(*) FROM api_keys WHERE revoked_at IS NULL').pluck().get() as number;
  }

  async countKeysEver(): Promise<number> {
    return this.stmt('SELECT count(*) FROM api_keys').pluck().get() as number;
  }

  async rehashKey(id: number, oldHash: string, newHash: string): Promise<void> {
    if (asId(id) === null) return;
    this.write(() =>
      this.stmt('UPDATE api_keys SET key_hash = ? WHERE id = ? AND key_hash = ?').run(newHash, id, oldHash),
    );
  }

  async listRules(): Promise<RiskRule[]> {
    return (this.stmt(`SELECT ${RISK_RULE_COLUMNS} FROM risk_rules ORDER BY name`).all() as Row[]).map(toRule);
  }

  async getRule(name: string): Promise<RiskRule | null> {
    const row = this.stmt(`SELECT ${RISK_RULE_COLUMNS} FROM risk_rules WHERE name = ?`).get(name) as Row | undefined;
    return row ? toRule(row) : null;
  }

  async addRule(rule: NewRiskRule, changedBy: string): Promise<RiskRule> {
    checkRiskRule(rule, changedBy);
    return this.write(() => {
      const at = now();
      const row = this.stmt(
        `INSERT INTO risk_rules (name, expression, action, description, enabled, created_by, created_at, updated_at)
         VALUES (?, ?, ?, ?, 1, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING ${RISK_RULE_COLUMNS}`,
      ).get(rule.name, rule.expression, rule.action, rule.description, changedBy, at, at) as Row | undefined;
      if (!row) throw new StoreError('conflict', `a rule named ${rule.name} already exists`, { field: 'name' });
      const added = toRule(row);
      this.ruleChanged(added, 'added', changedBy, at);
      return added;
    });
  }

  async setRuleEnabled(name: string, enabled: boolean, changedBy: string): Promise<RiskRule | null> {
    checkText('changed_by', changedBy);
    return this.write(() => {
      const at = now();
      const row = this.stmt(
        `UPDATE risk_rules SET enabled = ?, updated_at = max(?, updated_at) WHERE name = ? AND enabled = ? RETURNING ${RISK_RULE_COLUMNS}`,
      ).get(enabled ? 1 : 0, at, name, enabled ? 0 : 1) as Row | undefined;
      if (!row) {
        const current = this.stmt(`SELECT ${RISK_RULE_COLUMNS} FROM risk_rules WHERE name = ?`).get(name) as
          | Row
          | undefined;
        return current ? toRule(current) : null;
      }
      const changed = toRule(row);
      this.ruleChanged(changed, enabled ? 'enabled' : 'disabled', changedBy, at);
      return changed;
    });
  }

  async updateRule(name: string, update: RiskRuleUpdate, changedBy: string): Promise<RiskRule | null> {
    return this.write(() => {
      const row = this.stmt(`SELECT ${RISK_RULE_COLUMNS} FROM risk_rules WHERE name = ?`).get(name) as Row | undefined;
      if (!row) return null;
      const current = toRule(row);
      const { rule, changes } = updatedRule(current, update, changedBy);
      if (changes.length === 0) return current;
      const at = now();
      const updated = toRule(
        this.stmt(
          `UPDATE risk_rules SET expression = ?, action = ?, description = ?, enabled = ?, updated_at = max(?, updated_at)
           WHERE name = ? RETURNING ${RISK_RULE_COLUMNS}`,
        ).get(rule.expression, rule.action, rule.description, rule.enabled ? 1 : 0, at, name) as Row,
      );
      for (const c of changes) this.ruleChanged(c.rule, c.change, changedBy, at);
      return updated;
    });
  }

  async removeRule(name: string, changedBy: string): Promise<RiskRule | null> {
    checkText('changed_by', changedBy);
    return this.write(() => {
      const row = this.stmt(`DELETE FROM risk_rules WHERE name = ? RETURNING ${RISK_RULE_COLUMNS}`).get(name) as
        | Row
        | undefined;
      if (!row) return null;
      const removed = toRule(row);
      this.ruleChanged(removed, 'removed', changedBy, now());
      return removed;
    });
  }

  async ruleHistory(name?: string): Promise<RiskRuleHistoryEntry[]> {
    const rows = (
      name === undefined
        ? this.stmt(`SELECT ${RISK_RULE_HISTORY_COLUMNS} FROM risk_rule_history ORDER BY id`).all()
        : this.stmt(`SELECT ${RISK_RULE_HISTORY_COLUMNS} FROM risk_rule_history WHERE rule_name = ? ORDER BY id`).all(
            name,
          )
    ) as Row[];
    return rows.map((r) => ({ ...r, enabled: r.enabled === 1 }) as unknown as RiskRuleHistoryEntry);
  }

  async rulesVersion(): Promise<number> {
    return this.stmt('SELECT COALESCE(MAX(id), 0) FROM risk_rule_history').pluck().get() as number;
  }

  /** The history row of a change (inside the change's transaction). */
  private ruleChanged(rule: RiskRule, change: RiskRuleChange, changedBy: string, at: string): void {
    this.stmt(
      `INSERT INTO risk_rule_history (rule_name, change, expression, action, description, enabled, changed_by, changed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(rule.name, change, rule.expression, rule.action, rule.description, rule.enabled ? 1 : 0, changedBy, at);
  }

  async ping(): Promise<void> {
    this.stmt('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/**
 * Switches the file to WAL (persistent: later opens find it set). The switch needs an exclusive lock and SQLite
 * does not wait for that one with the busy timeout, so two processes creating one file at once retry here.
 */
async function enableWal(db: Database.Database): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw e;
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 20));
    }
  }
}

function toTransaction(row: Row): StoredTransaction {
  row.is_fraudulent = row.is_fraudulent === 1;
  row.explanation = row.explanation === null ? null : JSON.parse(row.explanation as string);
  row.created_at = new Date(row.created_at as number).toISOString();
  withDecision(row);
  return row as unknown as StoredTransaction;
}

function toFeedback(row: Row): Feedback {
  row.is_correct = row.is_correct === 1;
  return row as unknown as Feedback;
}

function toModel(row: Row): ModelVersion {
  row.options = JSON.parse(row.options as string);
  row.metrics = row.metrics === null ? null : JSON.parse(row.metrics as string);
  row.active = row.active === 1;
  return row as unknown as ModelVersion;
}

function toRule(row: Row): RiskRule {
  return { ...row, enabled: row.enabled === 1 } as unknown as RiskRule;
}

/**
 * Constraint failures are the caller's bad input; a lock still held after the busy timeout is unavailability, as
 * is a file that became unwritable, full or damaged after it was opened (the environment's doing, not a bug).
 */
function mapError(e: unknown, path: string): unknown {
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string') return e;
  if (code.startsWith('SQLITE_CONSTRAINT'))
    return new StoreError('invalid', `rejected by the database: ${(e as Error).message}`, { cause: e });
  if (code.startsWith('SQLITE_BUSY'))
    return new StoreError('unavailable', `the database stayed locked by another process: ${(e as Error).message}`, {
      cause: e,
    });
  if (/^SQLITE_(READONLY|IOERR|CORRUPT|NOTADB|FULL|CANTOPEN|PERM|LOCKED|PROTOCOL|NOLFS|AUTH)/.test(code))
    return new StoreError('unavailable', `cannot write to ${path}: ${(e as Error).message} (${code})`, { cause: e });
  return e;
}
