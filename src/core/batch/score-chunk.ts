import { FEATURE_COUNT, FEATURES } from '../../model/features.js';
import type { IsolationForestModel } from '../../model/model.js';
import { readTransaction, type FieldError } from '../../model/transaction.js';
import { parseRecords, type CsvRecord } from './csv-records.js';
import { csvEscape, csvRow, jsonRow, tableRow, type BatchFormat, type ResultCells } from './output-format.js';

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
  output: string;
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
  const records = parseRecords(text, job.firstLine);
  const n = records.length;
  const index = new Map<string, number>();
  job.header.forEach((name, i) => {
    const key = name.toLowerCase();
    if (!index.has(key)) index.set(key, i);
  });

  const raw = new Float64Array(n * FEATURE_COUNT);
  const errors: (FieldError | null)[] = new Array(n).fill(null);
  const valid = new Int32Array(n);
  let validCount = 0;
  let cells: string[] = [];
  const get = (name: string): string | undefined => {
    const i = index.get(name);
    return i === undefined ? undefined : cells[i];
  };
  let stopAt = n;
  for (let r = 0; r < n; r++) {
    cells = records[r].cells;
    let error: FieldError | null;
    if (cells.length !== job.header.length) {
      error = { field: 'row', reason: `has ${cells.length} fields, the header has ${job.header.length}` };
    } else error = readTransaction(get, raw, validCount * FEATURE_COUNT);
    if (error) {
      errors[r] = error;
      if (settings.strict) {
        stopAt = r;
        break;
      }
    } else valid[validCount++] = r;
  }

  const scores = new Float64Array(validCount);
  model.scoreRows(raw, validCount, scores);

  let output = '';
  let flagged = 0;
  let errorCount = 0;
  const sampleErrors: RowError[] = [];
  let v = 0;
  for (let r = 0; r < stopAt; r++) {
    const record = records[r];
    const error = errors[r];
    let cellsOut: ResultCells;
    if (error) {
      errorCount++;
      if (sampleErrors.length < 5) sampleErrors.push({ line: record.line, field: error.field, reason: error.reason });
      cellsOut = errorCells(record.line, `${error.field} ${error.reason}`);
    } else {
      const score = scores[v];
      const verdict = model.verdict(score);
      if (verdict.is_anomaly) flagged++;
      cellsOut = {
        line: record.line,
        anomaly_score: score.toFixed(6),
        risk_score: verdict.risk_score.toFixed(2),
        risk_level: verdict.risk_level,
        is_anomaly: verdict.is_anomaly,
        confidence: verdict.confidence.toFixed(4),
        shap: null,
        top_factor: '',
        error: '',
      };
      if (settings.explain) explainInto(model, raw, v, cellsOut);
      v++;
    }
    // JSON rows are joined by ",\n" (the caller joins chunks the same way); other formats end each row with "\n".
    if (settings.format === 'json' && r > 0) output += ',\n';
    output += formatRow(record, job.header, cellsOut, settings);
  }
  const stopped = stopAt < n ? records[stopAt] : null;
  const stoppedError = stopped ? errors[stopAt]! : null;
  return {
    seq: job.seq,
    output,
    rows: stopAt,
    flagged,
    errors: errorCount,
    stoppedAt: stopped && stoppedError ? { line: stopped.line, field: stoppedError.field, reason: stoppedError.reason } : null,
    sampleErrors,
  };
}

function errorCells(line: number, error: string): ResultCells {
  return { line, anomaly_score: '', risk_score: '', risk_level: '', is_anomaly: null, confidence: '', shap: null, top_factor: '', error };
}

function explainInto(model: IsolationForestModel, raw: Float64Array, v: number, out: ResultCells): void {
  const e = model.explain(raw, v * FEATURE_COUNT);
  const values = FEATURES.map((f) => e.shap[f]);
  out.shap = values.map((x) => x.toFixed(6));
  let best = -1;
  for (let j = 0; j < values.length; j++) if (values[j] > 0 && (best < 0 || values[j] > values[best])) best = j;
  out.top_factor = best < 0 ? '' : FEATURES[best];
}

function formatRow(record: CsvRecord, header: string[], r: ResultCells, s: ChunkSettings): string {
  switch (s.format) {
    case 'csv': {
      const input = record.text ?? record.cells.map(csvEscape).join(',');
      return csvRow(input, r, s.explain);
    }
    case 'ndjson':
      return `${jsonRow(header, record.cells, r, s.explain)}\n`;
    case 'json':
      return jsonRow(header, record.cells, r, s.explain);
    case 'table':
      return tableRow(record.cells, header.length, r, s.explain, s.color);
  }
}
