import { isAscii } from 'node:buffer';
import { riskLevel, topFactor } from '../../model/explain.js';
import { FEATURE_COUNT } from '../../model/features.js';
import { writeAscii, writeFixed, writeInteger } from '../../model/number-format.js';
import { RULE_ACTIONS, type RuleMatch } from '../rules/decide.js';
import { csvEscape } from './csv-records.js';
import type { OutputBuffer } from './output-buffer.js';
import type { ChunkJob, ChunkSettings, ScoredBatch } from './score-chunk.js';

const COMMA = 44;
const NEWLINE = 10;
const RETURN = 13;
const QUOTE = 34;
const SEMICOLON = 59;

/** Room for the matched rules' names (ASCII: letters, digits, _ - .), joined by ;. */
function matchedBytes(matched: readonly RuleMatch[] | null): number {
  let n = 0;
  if (matched) for (let k = 0; k < matched.length; k++) n += matched[k].name.length + 1;
  return n;
}

/**
 * csvRow's text for a valid row that no rule failed on and that carries no warning, written as bytes:
 * the record's own bytes copied from the input (a quoted record: its cells, quoted again only where they need it),
 * the numbers written digit by digit. Strings per row (a slice, three numbers, the joined row) were a quarter of a
 * worker's time with the garbage they left. Only for a chunk whose records pass through as read: CSV out,
 * comma-separated, the file's own columns, ASCII (so that a record's place in the decoded text is its place in the
 * bytes).
 */
export class CsvRowBytes {
  private readonly fileCell: Uint8Array | null;

  private constructor(
    private readonly input: Uint8Array,
    private readonly settings: ChunkSettings,
    file: string,
    private readonly thresholdRisk: number,
  ) {
    this.fileCell = settings.withFile ? Buffer.from(`${csvEscape(file)},`, 'utf8') : null;
  }

  /** A writer for this chunk, or null when its records cannot be copied as bytes. */
  static forChunk(job: ChunkJob, settings: ChunkSettings, thresholdRisk: number): CsvRowBytes | null {
    const plain = settings.format === 'csv' && job.delimiter === ',' && job.columns.positions === null;
    return plain && isAscii(job.bytes) ? new CsvRowBytes(job.bytes, settings, job.columns.file, thresholdRisk) : null;
  }

  /**
   * One row: the record's bytes [start, end), or for a quoted record its `cells` (quoted again only where they need
   * it, as csvEscape does), then scored row `v` of `batch` (id: the stored row's, or null).
   */
  write(
    out: OutputBuffer,
    start: number,
    end: number,
    cells: readonly string[] | null,
    id: number | null,
    line: number,
    batch: ScoredBatch,
    v: number,
    decision: number,
    matched: readonly RuleMatch[] | null,
  ): void {
    let size = this.resultBytes + matchedBytes(matched);
    if (cells) for (let k = 0; k < cells.length; k++) size += 2 * cells[k].length + 3;
    else size += end - start;
    const b = out.reserve(size);
    let at = out.end;
    if (cells)
      for (let k = 0; k < cells.length; k++) {
        if (k > 0) b[at++] = COMMA;
        at = writeCell(b, at, cells[k]);
      }
    else for (let i = start; i < end; i++) b[at++] = this.input[i];
    out.end = this.results(b, at, id, line, batch, v, decision, matched);
  }

  /** Room for the result columns (the numbers, the words, the file cell). */
  private get resultBytes(): number {
    return (this.fileCell ? this.fileCell.length : 0) + 256;
  }

  /** The comma after the record, the result columns and the newline, from `at`; returns the end. */
  private results(
    b: Uint8Array,
    at: number,
    id: number | null,
    line: number,
    batch: ScoredBatch,
    v: number,
    decision: number,
    matched: readonly RuleMatch[] | null,
  ): number {
    const s = this.settings;
    b[at++] = COMMA;
    if (s.withIds) {
      if (id !== null) at = writeInteger(b, at, id);
      b[at++] = COMMA;
    }
    if (this.fileCell) {
      b.set(this.fileCell, at);
      at += this.fileCell.length;
    }
    const isAnomaly = batch.isAnomaly[v] === 1;
    at = writeInteger(b, at, line);
    b[at++] = COMMA;
    at = writeFixed(b, at, batch.anomalyScore[v], 6);
    b[at++] = COMMA;
    at = writeFixed(b, at, batch.riskScore[v], 2);
    b[at++] = COMMA;
    at = writeAscii(b, at, riskLevel(batch.riskScore[v], this.thresholdRisk, isAnomaly));
    b[at++] = COMMA;
    at = writeAscii(b, at, isAnomaly ? 'true' : 'false');
    b[at++] = COMMA;
    at = writeFixed(b, at, batch.confidence[v], 4);
    b[at++] = COMMA;
    at = writeAscii(b, at, RULE_ACTIONS[decision]);
    b[at++] = COMMA;
    if (matched)
      for (let k = 0; k < matched.length; k++) {
        if (k > 0) b[at++] = SEMICOLON; // matchedRulesCell: names hold no ; or ,
        at = writeAscii(b, at, matched[k].name);
      }
    if (s.explain && batch.shap) {
      for (let j = 0; j < FEATURE_COUNT; j++) {
        b[at++] = COMMA;
        at = writeFixed(b, at, batch.shap[v * FEATURE_COUNT + j], 6);
      }
      b[at++] = COMMA;
      at = writeAscii(b, at, topFactor(batch.shap, v * FEATURE_COUNT));
    }
    if (s.warnings) b[at++] = COMMA; // warning: none
    b[at++] = COMMA; // rule_errors: none
    b[at++] = COMMA; // error: none
    b[at++] = NEWLINE;
    return at;
  }
}

/** csvEscape(cell) as ASCII bytes (the cell comes from an ASCII chunk). */
function writeCell(b: Uint8Array, at: number, cell: string): number {
  let plain = true;
  for (let i = 0; i < cell.length && plain; i++) {
    const c = cell.charCodeAt(i);
    plain = c !== QUOTE && c !== COMMA && c !== NEWLINE && c !== RETURN;
  }
  if (plain) return writeAscii(b, at, cell);
  b[at++] = QUOTE;
  for (let i = 0; i < cell.length; i++) {
    const c = cell.charCodeAt(i);
    if (c === QUOTE) b[at++] = QUOTE;
    b[at++] = c;
  }
  b[at++] = QUOTE;
  return at;
}
