import { FEATURE_COUNT } from '../../model/features.js';
import type { IsolationForestModel } from '../../model/model.js';
import { readTransaction, type DerivedCheck, type FieldError } from '../../model/transaction.js';
import type { DerivedRule } from './dialect.js';
import { readExportAmount } from './export-amount.js';
import { scoreFeatureRows } from './score-features.js';
import { riskLevel, topFactor } from '../../model/explain.js';
import { formatFixed } from '../../model/number-format.js';
import { csvEscape, parseRecords, type CsvRows } from './csv-records.js';
import { fastReader } from './fast-reader.js';
import { OutputBuffer } from './output-buffer.js';
import { CsvRowBytes } from './csv-row-bytes.js';
import type { CompiledRule, RuleErrorOnRow } from '../rules/apply-rules.js';
import { applyRulesToBatch, LEGACY_FIELDS, legacyFieldsOf, rulesReadLegacy } from '../rules/batch-rules.js';
import { RULE_ACTIONS, type RuleMatch } from '../rules/decide.js';
import { csvRow, jsonRow, tableRow, type BatchFormat, type ResultCells, type RowShape } from './output-format.js';

export interface ChunkJob {
  seq: number;
  /** Whole records, UTF-8. */
  bytes: Uint8Array;
  /** The file line the chunk starts on (the header is line 1). */
  firstLine: number;
  /** The file's header, as read. */
  header: string[];
  /** The header as fields are read from it (--column mappings applied). */
  fields: string[];
  /** The file's field delimiter. */
  delimiter: string;
  /** How this file's columns are written (see run-batch's layout). */
  columns: ColumnLayout;
}

/**
 * Where a file's columns go in the output: `names` are the output's carried columns (every input's, renamed
 * where they clash with results); `positions[k]` is the header index written as names[k], or -1 where this
 * file has none. `positions` is null when the file's columns are the output's, in order (rows pass as read).
 */
export interface ColumnLayout {
  names: string[];
  positions: Int32Array | null;
  /** The input's name, written in a file column when there are several inputs. */
  file: string;
}

export interface RowError {
  line: number;
  field: string;
  reason: string;
}

export interface ChunkResult {
  seq: number;
  /** The rows as UTF-8, ready to write. */
  output: Uint8Array;
  rows: number;
  flagged: number;
  errors: number;
  /** Rows scored with a warning (--derived warn). */
  warned: number;
  /** Rows stored (0 without storage). */
  stored: number;
  /** Scored rows by decision: allow, review, block. */
  decisions: [number, number, number];
  /** Set when --strict stopped at this row; `output` then holds only the rows before it. */
  stoppedAt: RowError | null;
  /** The first few row errors, for the summary. */
  sampleErrors: RowError[];
}

export interface ChunkSettings extends RowShape {
  format: BatchFormat;
  strict: boolean;
  color: boolean;
  /** The decimal mark of amounts. */
  decimal: '.' | ',';
  /** Rows with derived values: rejected, or scored with a warning (RowShape.warnings). */
  derived: DerivedRule;
}

/** About the model that scored a chunk (a daemon's, for --remote runs). */
export interface ScoringModel {
  /** Where risk levels are placed. */
  thresholdRisk: number;
  version: string;
}

/** A chunk's valid rows, column by column, for the store: plain typed arrays that cross threads by transfer. */
export interface ScoredBatch {
  seq: number;
  count: number;
  features: Float64Array;
  anomalyScore: Float64Array;
  riskScore: Float64Array;
  confidence: Float64Array;
  isAnomaly: Uint8Array;
  /** The caller's reference per row (an id/transaction_id/reference column), or null without such a column. */
  references: (string | null)[] | null;
  /** Shapley values, 5 per row, when explained. */
  shap: Float64Array | null;
  /** --strict stopped in this chunk: nothing after it may be stored. */
  stopped: boolean;
  /**
   * What the rules decided (rules/batch-rules.ts): a decision code per row (0 allow, 1 review, 2 block), and per
   * row the rules that matched and those that failed on it (null where none; the arrays null without rules).
   * `decisions` null: no rules were applied, and each row's decision is the model's (review what it flags).
   */
  decisions: Uint8Array | null;
  matchedRules: (RuleMatch[] | null)[] | null;
  ruleErrors: (RuleErrorOnRow[] | null)[] | null;
}

/** A chunk between scoring and formatting: what formatting needs, kept in the thread that scored it. */
export interface ScoredChunk {
  job: ChunkJob;
  rows: CsvRows;
  errors: Map<number, FieldError>;
  /** Per record: what was derived rather than read (--derived warn). */
  warnings: Map<number, string>;
  stopAt: number;
  batch: ScoredBatch;
}

const REFERENCE_COLUMNS = ['id', 'transaction_id', 'reference'];

/**
 * Phase 1: parses, validates, scores (and explains) one chunk of records, and applies the rules (compiled once per
 * thread; none: the model's flag decides).
 */
export function scoreChunkRows(
  model: IsolationForestModel,
  job: ChunkJob,
  settings: ChunkSettings,
  rules: readonly CompiledRule[],
): ScoredChunk {
  const text = Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength).toString('utf8');
  const rows = parseRecords(text, job.firstLine, job.delimiter);
  const n = rows.count;
  const index = new Map<string, number>();
  job.fields.forEach((name, i) => {
    const key = name.toLowerCase();
    if (!index.has(key)) index.set(key, i);
  });
  const referenceAt = REFERENCE_COLUMNS.map((c) => index.get(c)).find((i) => i !== undefined);
  // A rule that reads the reference sees it even when the run does not print ids.
  const ruleReadsReference = rules.some((r) => r.expression.variables.has('reference'));
  const references: (string | null)[] | null =
    (settings.withIds || ruleReadsReference) && referenceAt !== undefined ? [] : null;
  // Legacy columns are split out of a row only when a rule reads them and the file has them.
  const legacyAt = rulesReadLegacy(rules) ? LEGACY_FIELDS.map((f) => index.get(f)) : [];
  const recordOf = legacyAt.some((i) => i !== undefined) ? new Int32Array(n) : null;

  // Read every record's features; only the features and the errors are kept.
  const raw = new Float64Array(n * FEATURE_COUNT);
  const errors = new Map<number, FieldError>();
  const warnings = new Map<number, string>();
  let validCount = 0;
  let cells: string[] = [];
  let amount: unknown;
  const get = (name: string): unknown => {
    if (name === 'amount') return amount;
    const i = index.get(name);
    return i === undefined ? undefined : cells[i];
  };
  const amountAt = index.get('amount');
  let rowWarnings: string[] = [];
  const derived: DerivedCheck =
    settings.derived === 'warn'
      ? (note) => (rowWarnings.push(`${note.field} ${note.reason}`), null)
      : (note) => ({
          field: note.field,
          reason: `${note.reason}; pass --derived warn to score such rows with a warning`,
        });
  let stopAt = n;
  // Amounts with a decimal comma never take the fast path: it would read 12.50 as twelve and a half.
  const fast = settings.decimal === '.' ? fastReader(job.fields, job.delimiter) : null;
  const { text: chunkText, starts, ends, quoted } = rows.plain;
  for (let r = 0; r < n; r++) {
    // Quoted records never take the fast path: a delimiter inside quotes would shift its fields.
    if (fast && !(quoted && quoted[r]) && fast.read(chunkText, starts[r], ends[r], raw, validCount * FEATURE_COUNT)) {
      if (recordOf) recordOf[validCount] = r;
      validCount++;
      if (references) references.push(rows.cells(r)[referenceAt!].trim() || null);
      continue;
    }
    cells = rows.cells(r);
    rowWarnings = [];
    amount = amountAt === undefined ? undefined : readExportAmount(cells[amountAt], settings.decimal);
    const error =
      cells.length !== job.header.length
        ? { field: 'row', reason: `has ${cells.length} fields, the header has ${job.header.length}` }
        : isFieldError(amount)
          ? amount
          : readTransaction(get, raw, validCount * FEATURE_COUNT, derived);
    if (!error) {
      if (recordOf) recordOf[validCount] = r;
      validCount++;
      if (rowWarnings.length > 0) warnings.set(r, rowWarnings.join('; '));
      if (references) references.push(cells[referenceAt!].trim() || null);
    } else {
      errors.set(r, error);
      if (settings.strict) {
        stopAt = r;
        break;
      }
    }
  }

  // Score (and explain) the valid rows together: the kernels want blocks.
  const batch = scoreFeatureRows(model, job.seq, raw, validCount, references, settings.explain, stopAt < n);
  const legacyOf = recordOf
    ? (v: number) => {
        const c = rows.cells(recordOf[v]);
        return legacyFieldsOf((name) => {
          const i = legacyAt[LEGACY_FIELDS.indexOf(name as (typeof LEGACY_FIELDS)[number])];
          return i === undefined ? undefined : c[i];
        });
      }
    : null;
  applyRulesToBatch(rules, batch, model.thresholdRisk, legacyOf);
  return { job, rows, errors, warnings, stopAt, batch };
}

function isFieldError(v: unknown): v is FieldError {
  return typeof v === 'object' && v !== null && 'field' in v;
}

/**
 * Phase 2: writes one output row per input record, in order; `ids` are the stored rows' ids, if stored.
 * `model` places risk levels and names the model in JSON rows; a daemon's answer carries both for --remote runs.
 */
export function formatChunk(
  model: ScoringModel,
  chunk: ScoredChunk,
  settings: ChunkSettings,
  ids: Float64Array | null,
): ChunkResult {
  const thresholdRisk = model.thresholdRisk;
  const { job, rows, errors, warnings, stopAt, batch } = chunk;
  const out = new OutputBuffer(outputEstimate(job.bytes.byteLength, rows.count, settings));
  const row: ResultCells = {
    transaction_id: '',
    file: job.columns.file,
    line: 0,
    anomaly_score: '',
    risk_score: '',
    risk_level: '',
    is_anomaly: null,
    confidence: '',
    decision: '',
    matched_rules: null,
    rule_errors: null,
    shap: null,
    top_factor: '',
    error: '',
    warning: '',
  };
  let flagged = 0;
  const decisions: [number, number, number] = [0, 0, 0];
  let warned = 0;
  const sampleErrors: RowError[] = [];
  let v = 0;
  const bytes = CsvRowBytes.forChunk(job, settings, thresholdRisk);
  const { starts, ends, quoted } = rows.plain;
  for (let r = 0; r < stopAt; r++) {
    row.line = rows.line(r);
    const error = errors.size > 0 ? errors.get(r) : undefined;
    // Most rows go out as bytes (csv-row-bytes.ts); rows in error, with a rule's failure or a warning, and rows
    // asked to be explained but not explained, go through the text path below.
    if (
      bytes &&
      !error &&
      !(batch.ruleErrors && batch.ruleErrors[v]) &&
      !(settings.explain && !batch.shap) &&
      !warnings.has(r)
    ) {
      if (batch.isAnomaly[v] === 1) flagged++;
      const code = batch.decisions ? batch.decisions[v] : batch.isAnomaly[v];
      decisions[code]++;
      const id = ids ? ids[v] : null;
      const matched = batch.matchedRules ? batch.matchedRules[v] : null;
      const cells = quoted && quoted[r] ? rows.cells(r) : null;
      bytes.write(out, starts[r], ends[r], cells, id, row.line, batch, v, code, matched);
      v++;
      continue;
    }
    if (error) {
      if (sampleErrors.length < 5) sampleErrors.push({ line: row.line, field: error.field, reason: error.reason });
      row.transaction_id = row.anomaly_score = row.risk_score = row.risk_level = row.confidence = row.top_factor = '';
      row.decision = '';
      row.matched_rules = row.rule_errors = null;
      row.is_anomaly = null;
      row.shap = null;
      row.error = `${error.field} ${error.reason}`;
      row.warning = '';
    } else {
      const isAnomaly = batch.isAnomaly[v] === 1;
      if (isAnomaly) flagged++;
      row.transaction_id = ids ? String(ids[v]) : '';
      row.anomaly_score = formatFixed(batch.anomalyScore[v], 6);
      row.risk_score = formatFixed(batch.riskScore[v], 2);
      row.risk_level = riskLevel(batch.riskScore[v], thresholdRisk, isAnomaly);
      row.is_anomaly = isAnomaly;
      row.confidence = formatFixed(batch.confidence[v], 4);
      const code = batch.decisions ? batch.decisions[v] : batch.isAnomaly[v];
      decisions[code]++;
      row.decision = RULE_ACTIONS[code];
      row.matched_rules = batch.matchedRules ? batch.matchedRules[v] : null;
      row.rule_errors = batch.ruleErrors ? batch.ruleErrors[v] : null;
      row.error = '';
      row.warning = warnings.get(r) ?? '';
      if (row.warning !== '') warned++;
      if (batch.shap) explanationCells(batch.shap, v, row);
      v++;
    }
    // JSON rows are joined by ",\n" (the caller joins chunks the same way); other formats end rows with "\n".
    if (settings.format === 'json' && r > 0) out.push(',\n');
    out.push(formatRow(rows, r, job, row, settings, model.version));
  }
  const stoppedError = stopAt < rows.count ? errors.get(stopAt)! : null;
  return {
    seq: job.seq,
    output: out.bytes(),
    rows: stopAt,
    flagged,
    warned,
    errors: errors.size - (stoppedError ? 1 : 0),
    stored: ids ? batch.count : 0,
    decisions,
    stoppedAt: stoppedError
      ? { line: rows.line(stopAt), field: stoppedError.field, reason: stoppedError.reason }
      : null,
    sampleErrors,
  };
}

function explanationCells(shap: Float64Array, v: number, out: ResultCells): void {
  out.shap = Array.from(shap.subarray(v * FEATURE_COUNT, (v + 1) * FEATURE_COUNT), (x) => formatFixed(x, 6));
  out.top_factor = topFactor(shap, v * FEATURE_COUNT);
}

function formatRow(
  rows: CsvRows,
  r: number,
  job: ChunkJob,
  cells: ResultCells,
  s: ChunkSettings,
  modelVersion: string,
): string {
  const { header, columns } = job;
  const { positions } = columns;
  // Input cells in output order: as read, or placed by the layout (empty where this file has no such column).
  const carried = (): readonly (string | undefined)[] => {
    const c = rows.cells(r);
    return positions ? Array.from(positions, (p) => (p < 0 ? undefined : c[p])) : c;
  };
  switch (s.format) {
    case 'csv': {
      // A row with the wrong number of fields is padded or cut to the header's width, so the output stays a
      // rectangular CSV; its error cell says how many fields it had.
      const input =
        positions || (cells.error !== '' && rows.cells(r).length !== header.length)
          ? Array.from(padded(carried(), columns.names.length), (cell) => csvEscape(cell ?? '')).join(',')
          : rows.text(r);
      return csvRow(input, cells, s);
    }
    case 'ndjson':
      return `${jsonRow(columns.names, carried(), cells, s, modelVersion)}\n`;
    case 'json':
      return jsonRow(columns.names, carried(), cells, s, modelVersion);
    case 'table':
      return tableRow(carried(), columns.names.length, cells, s, s.color);
  }
}

/**
 * About how many bytes a chunk's output takes: its input plus the result columns per row. A buffer sized from the
 * input alone (2x) grew twice per CSV chunk (rows of ~15 bytes gain ~50), leaving 6 MB of garbage and an 8 MB
 * buffer for 5 MB of text on both threads, per chunk in flight.
 */
function outputEstimate(inputBytes: number, rows: number, s: ChunkSettings): number {
  const perRow = (s.format === 'csv' ? 64 : 256) + (s.explain ? 128 : 0) + (s.withFile ? 32 : 0);
  return inputBytes + rows * perRow + 1024;
}

function padded<T>(cells: readonly T[], width: number): (T | undefined)[] {
  return Array.from({ length: width }, (_, i) => cells[i]);
}
