import { FEATURE_COUNT, FEATURES } from '../../model/features.js';
import type { IsolationForestModel } from '../../model/model.js';
import { readTransaction, type FieldError } from '../../model/transaction.js';
import { csvEscape, parseRecords, type CsvRows } from './csv-records.js';
import { confidence, riskLevel } from '../../model/explain.js';
import { formatFixed } from '../../model/number-format.js';
import { fastReader } from './fast-reader.js';
import { OutputBuffer } from './output-buffer.js';
import { csvRow, jsonRow, tableRow, type BatchFormat, type ResultCells } from './output-format.js';

export interface ChunkJob {
  seq: number;
  /** Whole records, UTF-8. */
  bytes: Uint8Array;
  /** The file line the chunk starts on (the header is line 1). */
  firstLine: number;
  /** The file's header, as read. */
  header: string[];
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
  /** Set when --strict stopped at this row; `output` then holds only the rows before it. */
  stoppedAt: RowError | null;
  /** The first few row errors, for the summary. */
  sampleErrors: RowError[];
}

export interface ChunkSettings {
  format: BatchFormat;
  explain: boolean;
  strict: boolean;
  color: boolean;
}

/** Scores one chunk of CSV records into output text: one output row per input record, in order. */
export function scoreChunk(model: IsolationForestModel, job: ChunkJob, settings: ChunkSettings): ChunkResult {
  const text = Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength).toString('utf8');
  const rows = parseRecords(text, job.firstLine);
  const n = rows.count;
  const index = new Map<string, number>();
  job.header.forEach((name, i) => {
    const key = name.toLowerCase();
    if (!index.has(key)) index.set(key, i);
  });

  // Pass 1: read every record's features; only the features and the errors are kept.
  const raw = new Float64Array(n * FEATURE_COUNT);
  const errors = new Map<number, FieldError>();
  let validCount = 0;
  let cells: string[] = [];
  const get = (name: string): string | undefined => {
    const i = index.get(name);
    return i === undefined ? undefined : cells[i];
  };
  let stopAt = n;
  const fast = rows.plain ? fastReader(job.header) : null;
  for (let r = 0; r < n; r++) {
    if (fast && fast.read(rows.plain!.text, rows.plain!.starts[r], rows.plain!.ends[r], raw, validCount * FEATURE_COUNT)) {
      validCount++;
      continue;
    }
    cells = rows.cells(r);
    const error =
      cells.length !== job.header.length
        ? { field: 'row', reason: `has ${cells.length} fields, the header has ${job.header.length}` }
        : readTransaction(get, raw, validCount * FEATURE_COUNT);
    if (!error) validCount++;
    else {
      errors.set(r, error);
      if (settings.strict) {
        stopAt = r;
        break;
      }
    }
  }

  // Pass 2: score the valid rows together (the kernel wants blocks), then write rows in input order.
  if (settings.explain) model.prepareBatchExplanations();
  const scores = new Float64Array(validCount);
  model.scoreRows(raw, validCount, scores);
  const thresholdRisk = model.thresholdRisk;
  const out = new OutputBuffer(job.bytes.byteLength * 2 + 1024);
  const jsonSeparator = settings.format === 'json';
  const row: ResultCells = { line: 0, anomaly_score: '', risk_score: '', risk_level: '', is_anomaly: null, confidence: '', shap: null, top_factor: '', error: '' };
  let flagged = 0;
  const sampleErrors: RowError[] = [];
  let v = 0;
  for (let r = 0; r < stopAt; r++) {
    row.line = rows.line(r);
    const error = errors.get(r);
    if (error) {
      if (sampleErrors.length < 5) sampleErrors.push({ line: row.line, field: error.field, reason: error.reason });
      row.anomaly_score = row.risk_score = row.risk_level = row.confidence = row.top_factor = '';
      row.is_anomaly = null;
      row.shap = null;
      row.error = `${error.field} ${error.reason}`;
    } else {
      const score = scores[v];
      const isAnomaly = score >= model.threshold;
      const risk = model.riskScore(score);
      if (isAnomaly) flagged++;
      row.anomaly_score = formatFixed(score, 6);
      row.risk_score = formatFixed(risk, 2);
      row.risk_level = riskLevel(risk, thresholdRisk, isAnomaly);
      row.is_anomaly = isAnomaly;
      row.confidence = formatFixed(confidence(risk, thresholdRisk, isAnomaly), 4);
      row.error = '';
      if (settings.explain) explainInto(model, raw, v, row);
      v++;
    }
    // JSON rows are joined by ",\n" (the caller joins chunks the same way); other formats end rows with "\n".
    if (jsonSeparator && r > 0) out.push(',\n');
    out.push(formatRow(rows, r, job.header, row, settings));
  }
  const stoppedError = stopAt < n ? errors.get(stopAt)! : null;
  return {
    seq: job.seq,
    output: out.bytes(),
    rows: stopAt,
    flagged,
    errors: errors.size - (stoppedError ? 1 : 0),
    stoppedAt: stoppedError ? { line: rows.line(stopAt), field: stoppedError.field, reason: stoppedError.reason } : null,
    sampleErrors,
  };
}

function explainInto(model: IsolationForestModel, raw: Float64Array, v: number, out: ResultCells): void {
  const e = model.explain(raw, v * FEATURE_COUNT);
  const values = FEATURES.map((f) => e.shap[f]);
  out.shap = values.map((x) => formatFixed(x, 6));
  let best = -1;
  for (let j = 0; j < values.length; j++) if (values[j] > 0 && (best < 0 || values[j] > values[best])) best = j;
  out.top_factor = best < 0 ? '' : FEATURES[best];
}

function formatRow(rows: CsvRows, r: number, header: string[], cells: ResultCells, s: ChunkSettings): string {
  switch (s.format) {
    case 'csv': {
      // A row with the wrong number of fields is padded or cut to the header's width, so the output stays a
      // rectangular CSV; its error cell says how many fields it had.
      const input = cells.error !== '' && rows.cells(r).length !== header.length
        ? Array.from({ length: header.length }, (_, i) => csvEscape(rows.cells(r)[i] ?? '')).join(',')
        : rows.text(r);
      return csvRow(input, cells, s.explain);
    }
    case 'ndjson':
      return `${jsonRow(header, rows.cells(r), cells, s.explain)}\n`;
    case 'json':
      return jsonRow(header, rows.cells(r), cells, s.explain);
    case 'table':
      return tableRow(rows.cells(r), header.length, cells, s.explain, s.color);
  }
}
