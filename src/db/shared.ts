/**
 * What both backends share: the error type, input checks and the arithmetic of the dashboard, so that SQLite and
 * Postgres give the same answers from the same rows. Nothing here touches a driver.
 */
import { SecureflowError, type ErrorKind } from '../core/errors.js';
import type {
  DashboardStats,
  DecisionSummary,
  Feedback,
  NewRiskRule,
  NewTransaction,
  RecordedFeedback,
  RiskRule,
  RiskRuleChange,
  RiskRuleUpdate,
  RiskRuleAction,
  RuleMatchRecord,
  TrafficSlice,
  TrainingPage,
  TransactionRows,
} from './store.js';

export type StoreErrorKind = Extract<ErrorKind, 'not_found' | 'unavailable' | 'invalid' | 'conflict'>;

/**
 * A storage failure the caller can act on: bad input (invalid, with the field in `details`), a database it cannot
 * reach (unavailable), ... A SecureflowError like any other (exit code and status from ERROR_KINDS); the class
 * only tells the daemon that its message names the database.
 */
export class StoreError extends SecureflowError {
  override name = 'StoreError';
  declare readonly kind: StoreErrorKind;
  /** The input field at fault, for an 'invalid' error (also `details.field`). */
  readonly field?: string;
  constructor(kind: StoreErrorKind, message: string, options?: { cause?: unknown; field?: string }) {
    super(kind, message, options?.field !== undefined ? { field: options.field } : {}, { cause: options?.cause });
    if (options?.field !== undefined) this.field = options.field;
  }
}

/** Waits until every row of `rows` can be read (TransactionRows.ready), for stores that write them all at once. */
export async function allRows(rows: TransactionRows): Promise<void> {
  if (rows.ready) await rows.ready(rows.length);
}

// NUL (Postgres text cannot hold it) and UTF-16 surrogates without their pair (not encodable as UTF-8: the
// drivers would silently store U+FFFD). Both backends refuse them, so that they accept the same values.
const UNSTORABLE = /\u0000|\p{Cs}/u;

/** Why a text value cannot be stored as given, or null when it can. */
export function unstorableText(value: string): string | null {
  const m = UNSTORABLE.exec(value);
  if (!m) return null;
  return m[0] === '\u0000'
    ? 'must not contain a NUL character (\\u0000)'
    : 'must not contain an unpaired UTF-16 surrogate';
}

/** Throws StoreError('invalid') naming the field when a text value cannot be stored. */
export function checkText(field: string, value: string | null | undefined, prefix = ''): void {
  if (typeof value !== 'string') return;
  const problem = unstorableText(value);
  if (problem) throw new StoreError('invalid', `${prefix}${field} ${problem}`, { field });
}

/** The stored transaction's columns, in the order rows come back (and are printed as JSON). */
export const TRANSACTION_COLUMNS = [
  'id',
  'reference',
  'amount',
  'hour',
  'day_of_week',
  'merchant_category',
  'transaction_type',
  'is_fraudulent',
  'anomaly_score',
  'risk_score',
  'risk_level',
  'confidence',
  'explanation',
  'model_version',
  'source',
  'batch_id',
  'decision',
  'matched_rules',
  'created_at',
] as const;

/** A decision as stored (migration 010): a small integer. Rows stored before 010 read as the model's flag. */
const DECISION_CODES: Readonly<Record<string, number>> = { allow: 0, review: 1, block: 2 };
const DECISIONS: readonly RiskRuleAction[] = ['allow', 'review', 'block'];

export function decisionToCode(decision: RiskRuleAction): number {
  return DECISION_CODES[decision];
}

export function decisionFromCode(code: unknown): RiskRuleAction {
  return DECISIONS[Number(code)] ?? 'allow';
}

/**
 * Matched rules as stored: `action:name` pairs joined by `;` (rule names are letters, digits, `_`, `-`, `.`), NULL
 * when none matched, which is most rows: a few bytes where a rule fired, nothing where none did.
 */
export function matchedRulesText(rules: readonly RuleMatchRecord[]): string | null {
  if (rules.length === 0) return null;
  let out = '';
  for (let i = 0; i < rules.length; i++) out += `${i > 0 ? ';' : ''}${rules[i].action}:${rules[i].name}`;
  return out;
}

export function matchedRulesOf(text: unknown): RuleMatchRecord[] {
  if (typeof text !== 'string' || text === '') return [];
  return text.split(';').map((pair) => {
    const at = pair.indexOf(':');
    return { name: pair.slice(at + 1), action: pair.slice(0, at) as RiskRuleAction };
  });
}

const MATCHED_RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A stored row's columns from the database's decision code and matched-rules text (both backends). */
export function withDecision<T extends object>(row: T): T {
  const r = row as Record<string, unknown>;
  r.decision = decisionFromCode(r.decision);
  r.matched_rules = matchedRulesOf(r.matched_rules);
  return row;
}

const finiteNumber = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
// 32-bit: the Postgres columns are integer, and SQLite must refuse what Postgres refuses.
const isInt32 = (v: unknown): boolean => Number.isInteger(v) && Math.abs(v as number) <= 2 ** 31 - 1;
const TEXT = ['risk_level', 'model_version', 'source'] as const;
const NULLABLE_TEXT = ['reference', 'batch_id'] as const;

/**
 * Type checks done in JS, identically for both backends: SQLite would turn NaN into NULL and Postgres would store
 * it, and neither says which row was wrong. Ranges (hour 0..23, ...) are left to the tables' CHECK constraints.
 */
export function checkTransactions(rows: readonly NewTransaction[]): void {
  rows.forEach((row, i) => {
    checkTransaction(row, i, rows.length);
  });
}

/** One row of `count` (its position named in errors when count > 1). */
export function checkTransaction(row: NewTransaction, i: number, count: number): void {
  // Runs once per stored row (a million for a big file): no allocation unless a row is bad, and a text equal to
  // the one last found storable in the same field (the batch's model, source, batch id) is not scanned again.
  const bad = (field: string, what: string) =>
    new StoreError('invalid', `${where(i, count)}${field} must be ${what}`, { field });
  // Field by field rather than looping over name lists: this runs a million times for a big file, and a keyed
  // loop cost a quarter of the SQLite insert's JS time (bench/).
  const r = row;
  if (!finiteNumber(r.amount)) throw bad('amount', 'a finite number');
  if (!finiteNumber(r.anomaly_score)) throw bad('anomaly_score', 'a finite number');
  if (!finiteNumber(r.risk_score)) throw bad('risk_score', 'a finite number');
  if (!finiteNumber(r.confidence)) throw bad('confidence', 'a finite number');
  if (!isInt32(r.hour)) throw bad('hour', 'a 32-bit integer');
  if (!isInt32(r.day_of_week)) throw bad('day_of_week', 'a 32-bit integer');
  if (!isInt32(r.merchant_category)) throw bad('merchant_category', 'a 32-bit integer');
  if (!isInt32(r.transaction_type)) throw bad('transaction_type', 'a 32-bit integer');
  if (typeof r.risk_level !== 'string') throw bad('risk_level', 'a string');
  if (typeof r.model_version !== 'string') throw bad('model_version', 'a string');
  if (typeof r.source !== 'string') throw bad('source', 'a string');
  if (r.reference !== null && typeof r.reference !== 'string') throw bad('reference', 'a string or null');
  if (r.batch_id !== null && typeof r.batch_id !== 'string') throw bad('batch_id', 'a string or null');
  if (typeof r.is_fraudulent !== 'boolean') throw bad('is_fraudulent', 'a boolean');
  if (r.decision !== 'allow' && r.decision !== 'review' && r.decision !== 'block')
    throw bad('decision', 'one of allow, review, block');
  if (!Array.isArray(r.matched_rules)) throw bad('matched_rules', 'an array of {name, action}');
  for (const m of r.matched_rules) {
    if (!MATCHED_RULE_NAME.test(m?.name)) throw bad('matched_rules', 'rules named by letters, digits, _, - or .');
    if (!Object.hasOwn(DECISION_CODES, m.action))
      throw bad('matched_rules', 'rules whose action is allow, review or block');
  }
  if (r.explanation_json !== undefined && typeof r.explanation_json !== 'string')
    throw bad('explanation_json', 'a string (JSON text)');
  for (let k = 0; k < TEXT_FIELDS.length; k++) {
    const value = row[TEXT_FIELDS[k]];
    if (value === null || value === lastStorable[k]) continue;
    const problem = unstorableText(value); // as checkText, with the row's position built only for the message
    if (problem)
      throw new StoreError('invalid', `${where(i, count)}${TEXT_FIELDS[k]} ${problem}`, { field: TEXT_FIELDS[k] });
    lastStorable[k] = value;
  }
}

const TEXT_FIELDS = [...TEXT, ...NULLABLE_TEXT];
const lastStorable: (string | null)[] = TEXT_FIELDS.map(() => null);
const where = (i: number, count: number): string => (count > 1 ? `transaction ${i + 1} of ${count}: ` : '');

/** A JSON column's text, or SQL NULL for null (an unexplained row, a model without metrics). */
export function jsonOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/** A row's explanation column: as the caller serialised it, or serialised here. */
export function explanationText(row: NewTransaction): string | null {
  return row.explanation_json ?? jsonOrNull(row.explanation);
}

/** A positive integer id, or null for anything else (which can match no row). */
export function asId(id: number): number | null {
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

/** A model is named by its version hash or its numeric id given as a string. */
export function modelRef(versionOrId: string): { version: string; id: number | null } {
  const id = /^[1-9]\d{0,15}$/.test(versionOrId) ? asId(Number(versionOrId)) : null;
  return { version: versionOrId, id };
}

/**
 * Now, as stored: ISO-8601 UTC with milliseconds. Both backends take times from the application's clock (not the
 * database's), so that they store the same values and a `since` computed by the caller compares like with like.
 */
export const nowIso = (): string => new Date().toISOString();

/** The transaction_stats bucket of a created_at: its minute, in the same format. */
export const minuteOf = (iso: string): string => `${iso.slice(0, 16)}:00.000Z`;

// Date.UTC would read year 1 as 1901: parse the bounds instead.
const FIRST = Date.parse('0001-01-01T00:00:00.000Z');
const LAST = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * True when both backends store and compare the moment alike: years 1..9999 (SQLite compares ISO text, which
 * breaks for "+275760-..." and negative years; Postgres refuses some of them).
 */
export function inStorableRange(date: Date): boolean {
  const t = date.getTime();
  return Number.isFinite(t) && t >= FIRST && t <= LAST;
}

export function isoOf(date: Date, what: string): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime()))
    throw new StoreError('invalid', `${what} must be a valid date`, { field: what });
  if (!inStorableRange(date))
    throw new StoreError('invalid', `${what} must be a date with a year from 1 to 9999, got ${date.toISOString()}`, {
      field: what,
    });
  return date.toISOString();
}

export function checkPage(limit: number, offset: number): void {
  if (!Number.isSafeInteger(limit) || limit < 0)
    throw new StoreError('invalid', `limit must be a non-negative integer, got ${limit}`);
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw new StoreError('invalid', `offset must be a non-negative integer, got ${offset}`);
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Per-hour sums from either backend, already as JS numbers. */
export interface HourSums {
  hour: number;
  total: number;
  anomalies: number;
  score_sum: number;
  elevated: number;
}

/** Per-hour sums for transaction_stats, added up row by row as rows are stored (one pass, no copy of the rows). */
export class HourTally {
  private readonly byHour = new Map<number, HourSums>();

  add(r: NewTransaction): void {
    let h = this.byHour.get(r.hour);
    if (!h) {
      h = { hour: r.hour, total: 0, anomalies: 0, score_sum: 0, elevated: 0 };
      this.byHour.set(r.hour, h);
    }
    h.total++;
    if (r.is_fraudulent) h.anomalies++;
    if (r.risk_level === 'elevated') h.elevated++;
    h.score_sum += r.anomaly_score;
  }

  /** Hours in ascending order: Postgres locks the stats rows in that order. */
  sums(): HourSums[] {
    return [...this.byHour.values()].sort((a, b) => a.hour - b.hour);
  }
}

/** A batch's per-hour sums, for transaction_stats. */
export function sumByHour(rows: readonly NewTransaction[]): HourSums[] {
  const tally = new HourTally();
  for (const r of rows) tally.add(r);
  return tally.sums();
}

/**
 * Where counting switches from transaction_stats to raw rows: the first whole minute at or after `since` (ISO).
 * Rows in [since, boundary) are counted one by one; whole minutes from the boundary on come from the stats.
 */
export function statsBoundary(sinceIso: string | null): string {
  if (sinceIso === null) return new Date(0).toISOString();
  // Clamped: in the last minute of year 9999 the next whole minute is in year 10000, which compares wrongly as text.
  return new Date(Math.min(LAST, Math.ceil(Date.parse(sinceIso) / 60_000) * 60_000)).toISOString();
}

/**
 * The dashboard from per-hour sums and feedback counts. Averages and percentages are computed here, not in SQL,
 * so that both backends round the same way.
 */
export function buildDashboard(hours: HourSums[], feedback: { total: number; positive: number }): DashboardStats {
  const hourly = Array.from({ length: 24 }, (_, hour) => ({ hour, total_transactions: 0, anomalies: 0 }));
  let total = 0;
  let anomalies = 0;
  let scoreSum = 0;
  let elevated = 0;
  for (const h of hours) {
    elevated += Number(h.elevated ?? 0);
    total += h.total;
    anomalies += h.anomalies;
    scoreSum += h.score_sum;
    const slot = hourly[h.hour];
    if (slot) {
      slot.total_transactions += h.total;
      slot.anomalies += h.anomalies;
    }
  }
  return {
    total_transactions: total,
    anomalies_detected: anomalies,
    avg_anomaly_score: total === 0 ? 0 : round(scoreSum / total, 6),
    anomaly_rate: total === 0 ? 0 : round((anomalies / total) * 100, 2),
    hourly_distribution: hourly,
    // An anomaly is always at the highest level (explain.ts: riskLevel).
    risk_levels: { normal: total - anomalies - elevated, elevated, highest: anomalies },
    feedback: {
      total_feedback: feedback.total,
      positive_feedback: feedback.positive,
      accuracy: feedback.total === 0 ? 0 : round((feedback.positive / feedback.total) * 100, 2),
    },
  };
}

/** At most this many distinct matched-rules texts are read for the top rules (most common first): a bound. */
export const RULE_COMBINATIONS_READ = 1000;

/**
 * One row of Store.decisionSummary's query: kind 0 a count of rows (n) and flagged rows (m) in the window (the
 * rollup, or the first partial minute); kind 1 the rows a rule matched with decision d (n of them, m flagged);
 * kind 2 the rows with one matched-rules text (n).
 */
export interface DecisionSummaryRow {
  kind: number | string;
  rules: string | null;
  d: number | string | null;
  n: number | string | null;
  m: number | string | null;
}

/**
 * Decisions from totals and the rule-matched rows alone: a row no rule matched was decided by the model's flag
 * (decide.ts), so it is review when flagged, else allow; rule-matched rows move from that to their own decision.
 */
export function buildDecisionSummary(rows: readonly DecisionSummaryRow[], topRules: number): DecisionSummary {
  const decisions = { allow: 0, review: 0, block: 0 };
  const matches = new Map<string, number>();
  for (const r of rows) {
    const n = Number(r.n ?? 0);
    const m = Number(r.m ?? 0);
    const kind = Number(r.kind);
    if (kind === 0) {
      decisions.allow += n - m;
      decisions.review += m;
    } else if (kind === 1) {
      decisions.allow -= n - m;
      decisions.review -= m;
      decisions[decisionFromCode(r.d)] += n;
    } else {
      for (const rule of matchedRulesOf(r.rules)) {
        const key = `${rule.action}:${rule.name}`;
        matches.set(key, (matches.get(key) ?? 0) + n);
      }
    }
  }
  const top_rules = [...matches]
    .map(([key, count]) => {
      const at = key.indexOf(':');
      return { name: key.slice(at + 1), action: key.slice(0, at) as RiskRuleAction, matches: count };
    })
    .sort(
      (a, b) =>
        b.matches - a.matches || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || (a.action < b.action ? -1 : 1),
    )
    .slice(0, Math.max(0, topRules));
  return { decisions, top_rules };
}

/**
 * Per-minute counts binned into `buckets` equal spans from `since` to `until`, oldest first: the dashboard's
 * throughput sparkline.
 */
export function binThroughput(
  minutes: { bucket: string; total: number; anomalies: number }[],
  since: Date,
  until: Date,
  buckets: number,
): { start: string; total: number; anomalies: number }[] {
  const from = since.getTime();
  const span = Math.max(60_000, (until.getTime() - from) / buckets);
  const out = Array.from({ length: buckets }, (_, i) => ({
    start: new Date(from + i * span).toISOString(),
    total: 0,
    anomalies: 0,
  }));
  for (const m of minutes) {
    const i = Math.floor((Date.parse(m.bucket) - from) / span);
    const slot = out[Math.min(buckets - 1, Math.max(0, i))];
    slot.total += Number(m.total);
    slot.anomalies += Number(m.anomalies);
  }
  return out;
}

/** A migration: its name (the same list in both backends, in order) and this backend's SQL. */
export interface Migration {
  name: string;
  sql: string;
}

/**
 * A URL's parts around its password. The password runs from the first ':' after the user to the LAST '@' that is
 * followed by something host-like, so that an unencoded '?', '#', '@' or '/' in it stays inside it (a URL parser
 * would split there and leave the rest of the password in a path or query). Null when there is no user-info.
 */
function userInfo(url: string): { head: string; password: string; tail: string } | null {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  if (!scheme) return null;
  const rest = url.slice(scheme[0].length);
  let at = -1;
  for (let i = rest.lastIndexOf('@'); i >= 0; i = rest.lastIndexOf('@', i - 1)) {
    if (/^[^@/?#\s]*(?:[/?#]|$)/.test(rest.slice(i + 1))) {
      at = i;
      break;
    }
    if (i === 0) break;
  }
  if (at < 0) return null;
  // The user part holds no '@' (nor ':'): a ':' after the first '@' is a port, not a password.
  const colon = rest.indexOf(':');
  if (colon < 0 || colon > rest.indexOf('@')) return null;
  return { head: scheme[0] + rest.slice(0, colon + 1), password: rest.slice(colon + 1, at), tail: rest.slice(at) };
}

/** The URL with its password replaced by ***: in the user-info part and in a ?password= / ?sslpassword= parameter. */
export function redactUrl(url: string): string {
  const parts = userInfo(url);
  const masked = parts ? `${parts.head}***${parts.tail}` : url;
  return masked.replace(/([?&](?:ssl)?password=)[^&]*/gi, '$1***');
}

/** A message with the URL (and its password, however it got there) masked. */
export function scrubMessage(message: string, url: string): string {
  let out = message.replaceAll(url, redactUrl(url));
  const password = userInfo(url)?.password ?? '';
  const secrets = [password];
  try {
    secrets.push(decodeURIComponent(password));
  } catch {
    // not percent-encoded: nothing more to mask
  }
  for (const m of url.matchAll(/[?&](?:ssl)?password=([^&]*)/gi)) secrets.push(m[1]);
  // Short passwords would mask innocent words; a long one is what a leak would look like.
  for (const secret of secrets) if (secret.length >= 4) out = out.replaceAll(secret, '***');
  return out;
}

/** What failed, in words: Node's network errors may have an empty message (AggregateError) but always a code. */
export function describeError(e: unknown): string {
  const err = e as { message?: string; code?: string; errors?: { message?: string }[] };
  return err.message || err.errors?.[0]?.message || err.code || String(e);
}

export const RISK_RULE_COLUMNS =
  'id, name, expression, action, description, enabled, created_by, created_at, updated_at';
export const RISK_RULE_HISTORY_COLUMNS =
  'id, rule_name, change, expression, action, description, enabled, changed_by, changed_at';

/** Checks done in JS for both backends, so that they refuse the same rules with the same message. */
export function checkRiskRule(rule: NewRiskRule, changedBy: string): void {
  if (!['allow', 'review', 'block'].includes(rule.action))
    throw new StoreError('invalid', `action must be one of allow, review, block; got ${JSON.stringify(rule.action)}`, {
      field: 'action',
    });
  for (const field of ['name', 'expression'] as const)
    if (typeof rule[field] !== 'string' || rule[field] === '')
      throw new StoreError('invalid', `${field} must not be empty`, { field });
  checkText('name', rule.name);
  checkText('expression', rule.expression);
  checkText('description', rule.description);
  checkText('changed_by', changedBy);
}

/**
 * A rule after `update` (checked as checkRiskRule checks), and the history rows it takes, in order: `changed`
 * when its expression, action or description differ, then `enabled`/`disabled` when its state does. The same
 * for both backends, so they record the same history for the same call.
 */
export function updatedRule(
  current: RiskRule,
  update: RiskRuleUpdate,
  changedBy: string,
): { rule: RiskRule; changes: { change: RiskRuleChange; rule: RiskRule }[] } {
  const next: RiskRule = {
    ...current,
    expression: update.expression ?? current.expression,
    action: update.action ?? current.action,
    description: update.description === undefined ? current.description : update.description,
  };
  checkRiskRule(next, changedBy);
  if (update.enabled !== undefined && typeof update.enabled !== 'boolean')
    throw new StoreError('invalid', 'enabled must be true or false', { field: 'enabled' });
  const changes: { change: RiskRuleChange; rule: RiskRule }[] = [];
  if (
    next.expression !== current.expression ||
    next.action !== current.action ||
    next.description !== current.description
  )
    changes.push({ change: 'changed', rule: { ...next } });
  if (update.enabled !== undefined && update.enabled !== current.enabled) {
    next.enabled = update.enabled;
    changes.push({ change: update.enabled ? 'enabled' : 'disabled', rule: { ...next } });
  }
  return { rule: next, changes };
}

/** The ids a batch lookup may take: whole positive numbers, at most `max` of them (else invalid). */
export function checkIdList(ids: readonly number[], max = 1000): number[] {
  if (ids.length > max) throw new StoreError('invalid', `at most ${max} ids per call, got ${ids.length}`);
  return ids.filter((id) => asId(id) !== null);
}

/** Rows per trafficSlices query: ~10 ms of SQLite's time each, so a daemon answers between them. */
export const TRAFFIC_SLICE_ROWS = 8192;

/** A TrafficSlice from the rows of one query: [id, amount, hour, day_of_week, merchant_category, transaction_type, anomaly_score, same]. */
export function trafficSlice(rows: readonly (readonly unknown[])[]): TrafficSlice {
  const count = rows.length;
  const features = new Float64Array(count * 5);
  const anomalyScores = new Float64Array(count);
  const scoredBy = new Uint8Array(count);
  for (let r = 0; r < count; r++) {
    const row = rows[r];
    for (let j = 0; j < 5; j++) features[r * 5 + j] = Number(row[1 + j]);
    anomalyScores[r] = Number(row[6]);
    scoredBy[r] = row[7] === true || row[7] === 1 ? 1 : 0;
  }
  return { count, features, anomalyScores, scoredBy };
}

/** Rows per trainingPages query (10,000: a few ms of either database's time, under a megabyte of JS values). */
export const TRAINING_PAGE_ROWS = 10_000;

/** Checks a TrainingQuery's bounds alike in both backends: a page size of at least 1, an id bound that is an id. */
export function checkTrainingQuery(untilId: number | undefined, pageRows: number): void {
  if (!Number.isSafeInteger(pageRows) || pageRows < 1)
    throw new StoreError('invalid', `pageRows must be a positive integer, got ${pageRows}`, { field: 'pageRows' });
  if (untilId !== undefined && asId(untilId) === null)
    throw new StoreError('invalid', `untilId must be a positive integer, got ${untilId}`, { field: 'untilId' });
}

/** A TrainingPage from the rows of one query: [id, amount, hour, day_of_week, merchant_category, transaction_type, confirmed fraud]. */
export function trainingPage(rows: readonly (readonly unknown[])[]): TrainingPage {
  const count = rows.length;
  const ids = new Float64Array(count);
  const features = new Float64Array(count * 5);
  const confirmedFraud = new Uint8Array(count);
  for (let r = 0; r < count; r++) {
    const row = rows[r];
    ids[r] = Number(row[0]);
    for (let j = 0; j < 5; j++) features[r * 5 + j] = Number(row[1 + j]);
    confirmedFraud[r] = row[6] === true || row[6] === 1 ? 1 : 0;
  }
  return { count, ids, features, confirmedFraud };
}

/** A verdict as replaced by a newer one (RecordedFeedback.previous): who gave it, and when. */
export function replacedVerdict(current: Feedback): NonNullable<RecordedFeedback['previous']> {
  return {
    is_correct: current.is_correct,
    notes: current.notes,
    recorded_by: current.recorded_by,
    recorded_at: current.updated_at,
  };
}
