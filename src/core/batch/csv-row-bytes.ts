import { isAscii } from 'node:buffer';
import { riskLevel } from '../../model/explain.js';
import { FEATURE_COUNT, FEATURES } from '../../model/features.js';
import { writeAscii, writeFixed, writeInteger } from '../../model/number-format.js';
import { RULE_ACTIONS } from '../rules/decide.js';
import { csvEscape } from './csv-records.js';
import type { OutputBuffer } from './output-buffer.js';
import type { ChunkJob, ChunkSettings, ScoredBatch } from './score-chunk.js';

const COMMA = 44;
const NEWLINE = 10;

/**
 * csvRow's text for a valid row that no rule matched or failed on and that carries no warning, written as bytes:
 * the record's own bytes copied from the input, the numbers written digit by digit. Strings per row (a slice, three
 * numbers, the joined row) were a quarter of a worker's time with the garbage they left. Only for a chunk whose
 * records pass through unchanged: CSV out, comma-separated, the file's own columns, ASCII (so that the record's
 * place in the decoded text is its place in the bytes).
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

  /** Record bytes [start, end) and scored row `v` of `batch` (id: the stored row's, or null). */
  write(
    out: OutputBuffer,
    start: number,
    end: number,
    id: number | null,
    line: number,
    batch: ScoredBatch,
    v: number,
    decision: number,
  ): void {
    const s = this.settings;
    const b = out.reserve(end - start + (this.fileCell ? this.fileCell.length : 0) + 256);
    let at = out.end;
    for (let i = start; i < end; i++) b[at++] = this.input[i];
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
    b[at++] = COMMA; // matched_rules: none
    if (s.explain && batch.shap) {
      let best = -1;
      for (let j = 0; j < FEATURE_COUNT; j++) {
        const x = batch.shap[v * FEATURE_COUNT + j];
        b[at++] = COMMA;
        at = writeFixed(b, at, x, 6);
        if (x > 0 && (best < 0 || x > batch.shap[v * FEATURE_COUNT + best])) best = j;
      }
      b[at++] = COMMA;
      if (best >= 0) at = writeAscii(b, at, FEATURES[best]);
    }
    if (s.warnings) b[at++] = COMMA; // warning: none
    b[at++] = COMMA; // rule_errors: none
    b[at++] = COMMA; // error: none
    b[at++] = NEWLINE;
    out.end = at;
  }
}
