/**
 * Backtests: how many transactions a rule matches, over CSV files (scored now, with the model the CLI would score
 * them with) or over stored transactions (as they were scored). Over stored ones it also counts, among the matched
 * rows an analyst gave a verdict on, how many were confirmed fraud. Memory stays flat: files are read in chunks
 * and scored in blocks, stored rows are read a page at a time.
 */
import { createReadStream, existsSync } from 'node:fs';
import { FEATURE_COUNT } from '../../model/features.js';
import type { IsolationForestModel } from '../../model/model.js';
import { readTransaction } from '../../model/transaction.js';
import type { Store, StoredTransaction } from '../../db/store.js';
import { csvChunks } from '../batch/csv-chunks.js';
import { parseRecords } from '../batch/csv-records.js';
import { scoreFeatureRows } from '../batch/score-features.js';
import { SecureflowError } from '../errors.js';
import { scoredTransactionAt } from '../scored-transaction.js';
import { ruleInputOf } from './apply-rules.js';
import type { CompiledExpression, RuleInput } from './rule-expression.js';

/** A row the rule could not be tested on: its input was unreadable, or the rule failed on it. */
export interface BacktestRowError {
  /** File name (`stdin` for -), or null for a stored transaction. */
  file: string | null;
  /** The file line, or the stored transaction's id. */
  line: number | null;
  transaction_id: number | null;
  error: string;
}

export interface BacktestResult {
  /** Rows seen: data rows of the files, or stored transactions in the period. */
  rows: number;
  /** Rows the rule was evaluated on without error (rows - invalid_rows - rule_errors). */
  evaluated: number;
  matched: number;
  /** matched / evaluated, 0 when nothing was evaluated. */
  share: number;
  /** Matched rows the model flags too. */
  matched_flagged_by_model: number;
  /** Rows whose input could not be read (a missing or bad field): not scored, not tested. */
  invalid_rows: number;
  /** Rows the rule failed on at run time (an integer division by zero, ...). */
  rule_errors: number;
  /** The first few invalid rows and rule failures, in input order. */
  errors: BacktestRowError[];
  /**
   * Stored transactions only: among matched rows with an analyst verdict (feedback), how many were confirmed fraud
   * (flagged by the model and the verdict "correct", or passed and the verdict "incorrect").
   */
  verdicts: { with_verdict: number; confirmed_fraud: number; confirmed_legitimate: number } | null;
}

const MAX_REPORTED_ERRORS = 20;
const BLOCK_ROWS = 4096;
const PAGE_ROWS = 1000;

class Tally {
  rows = 0;
  matched = 0;
  flagged = 0;
  invalid = 0;
  failed = 0;
  /** The first errors by input order (`seq`): a block's rule failures are known after its later invalid rows. */
  private errors: { seq: number; error: BacktestRowError }[] = [];

  error(seq: number, e: BacktestRowError, invalid: boolean): void {
    if (invalid) this.invalid++;
    else this.failed++;
    this.errors.push({ seq, error: e });
    if (this.errors.length >= 4 * MAX_REPORTED_ERRORS) this.firstErrors();
  }

  private firstErrors(): BacktestRowError[] {
    this.errors.sort((a, b) => a.seq - b.seq);
    this.errors.length = Math.min(this.errors.length, MAX_REPORTED_ERRORS);
    return this.errors.map((e) => e.error);
  }

  result(verdicts: BacktestResult['verdicts']): BacktestResult {
    const evaluated = this.rows - this.invalid - this.failed;
    return {
      rows: this.rows,
      evaluated,
      matched: this.matched,
      share: evaluated === 0 ? 0 : this.matched / evaluated,
      matched_flagged_by_model: this.flagged,
      invalid_rows: this.invalid,
      rule_errors: this.failed,
      errors: this.firstErrors(),
      verdicts,
    };
  }
}

const LEGACY_COLUMNS = ['merchant', 'category', 'type'] as const;
const REFERENCE_COLUMNS = ['id', 'transaction_id', 'reference'];

/** Scores CSV files (header row; canonical or legacy columns) with `model` and tests the rule on every row. */
export async function backtestFiles(
  rule: CompiledExpression,
  model: IsolationForestModel,
  inputs: readonly string[],
): Promise<BacktestResult> {
  const tally = new Tally();
  const raw = new Float64Array(BLOCK_ROWS * FEATURE_COUNT);
  let block: {
    seq: number;
    file: string;
    line: number;
    reference: string | null;
    legacy: Record<string, string | null>;
  }[] = [];
  const flush = () => {
    if (block.length === 0) return;
    const scored = scoreFeatureRows(
      model,
      0,
      raw,
      block.length,
      block.map((b) => b.reference),
      false,
    );
    block.forEach((row, i) => {
      const input = ruleInputOf(scoredTransactionAt(model, scored, i), row.legacy);
      count(tally, row.seq, rule, input, { file: row.file, line: row.line, transaction_id: null });
    });
    block = [];
  };
  for (const path of inputs) {
    const file = path === '-' ? 'stdin' : path;
    if (path !== '-' && !existsSync(path))
      throw new SecureflowError('not_found', `input file not found: ${path}`, { file: path });
    const stream = path === '-' ? process.stdin : createReadStream(path, { highWaterMark: 1 << 20 });
    for await (const chunk of csvChunks(stream, file, 1 << 20)) {
      const index = new Map<string, number>();
      chunk.header.forEach((name, i) => {
        index.has(name.toLowerCase()) || index.set(name.toLowerCase(), i);
      });
      const referenceAt = REFERENCE_COLUMNS.map((c) => index.get(c)).find((i) => i !== undefined);
      let cells: string[] = [];
      const get = (name: string) => {
        const i = index.get(name);
        return i === undefined ? undefined : cells[i];
      };
      const records = parseRecords(chunk.bytes.toString('utf8'), chunk.firstLine, chunk.delimiter);
      for (let r = 0; r < records.count; r++) {
        cells = records.cells(r);
        tally.rows++;
        const line = records.line(r);
        const error =
          cells.length !== chunk.header.length
            ? { field: 'row', reason: `has ${cells.length} fields, the header has ${chunk.header.length}` }
            : readTransaction(get, raw, block.length * FEATURE_COUNT);
        if (error) {
          tally.error(tally.rows, { file, line, transaction_id: null, error: `${error.field} ${error.reason}` }, true);
          continue;
        }
        const legacy: Record<string, string | null> = {};
        for (const c of LEGACY_COLUMNS) legacy[c] = get(c)?.trim() || null;
        const reference = referenceAt === undefined ? null : cells[referenceAt].trim() || null;
        block.push({ seq: tally.rows, file, line, reference, legacy });
        if (block.length === BLOCK_ROWS) flush();
      }
    }
  }
  flush();
  return tally.result(null);
}

/**
 * Tests the rule on the transactions stored since `since`, as they were scored (their stored scores and risk
 * level; legacy fields are not stored, so they read as ""). Pages newest first, each after the last.
 */
export async function backtestStored(rule: CompiledExpression, store: Store, since: Date): Promise<BacktestResult> {
  const tally = new Tally();
  const verdicts = { with_verdict: 0, confirmed_fraud: 0, confirmed_legitimate: 0 };
  let before: { created_at: string; id: number } | undefined; // keyset paging: rows stored meanwhile shift nothing
  for (;;) {
    const { rows } = await store.listTransactions({ since, limit: PAGE_ROWS, before });
    const matched = new Map<number, StoredTransaction>();
    for (const row of rows) {
      tally.rows++;
      if (count(tally, tally.rows, rule, storedInput(row), { file: null, line: null, transaction_id: row.id }))
        matched.set(row.id, row);
    }
    // One query per page for the verdicts on its matched rows.
    for (const feedback of matched.size > 0 ? await store.feedbackOf([...matched.keys()]) : []) {
      verdicts.with_verdict++;
      // The verdict says whether the model was right: fraud is a flag confirmed, or a pass refuted.
      if (matched.get(feedback.transaction_id)!.is_fraudulent === feedback.is_correct) verdicts.confirmed_fraud++;
      else verdicts.confirmed_legitimate++;
    }
    if (rows.length < PAGE_ROWS) break;
    const last = rows[rows.length - 1];
    before = { created_at: last.created_at, id: last.id };
    // SQLite's driver is synchronous: in a daemon (POST /api/rules/test) the event loop serves between pages.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return tally.result(verdicts);
}

function storedInput(row: StoredTransaction): RuleInput {
  return {
    amount: row.amount,
    hour: row.hour,
    day_of_week: row.day_of_week,
    merchant_category: row.merchant_category,
    transaction_type: row.transaction_type,
    reference: row.reference,
    anomaly_score: row.anomaly_score,
    risk_score: row.risk_score,
    risk_level: row.risk_level,
    is_anomaly: row.is_fraudulent,
  };
}

/** Tests one row; true when it matched. */
function count(
  tally: Tally,
  seq: number,
  rule: CompiledExpression,
  input: RuleInput,
  where: Omit<BacktestRowError, 'error'>,
): boolean {
  const outcome = rule.evaluate(input);
  if (!outcome.ok) {
    tally.error(seq, { ...where, error: outcome.error }, false);
    return false;
  }
  if (!outcome.matched) return false;
  tally.matched++;
  if (input.is_anomaly) tally.flagged++;
  return true;
}
