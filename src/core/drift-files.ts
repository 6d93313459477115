import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { DriftCounter, referenceBins } from '../model/drift.js';
import type { IsolationForestModel } from '../model/model.js';
import { csvChunks } from './batch/csv-chunks.js';
import type { CsvDialect } from './batch/dialect.js';
import { scoreChunkRows, type ChunkSettings, type RowError } from './batch/score-chunk.js';
import { SecureflowError } from './errors.js';

export interface DriftInput {
  /** The traffic's binned counts (report() gives the figures). */
  counter: DriftCounter;
  /** Rows that could not be read: left out of the figures, counted and named. */
  rejected: number;
  /** The first few of them. */
  sampleErrors: (RowError & { file: string })[];
}

/**
 * Reads CSV files (or `-`, stdin) exactly as `secureflow score` reads them (same header checks, dialect, row
 * validation and scoring step, scoreChunkRows), and counts each valid row's features and anomaly score into the
 * model's drift bins. One chunk of ~1 MiB at a time on this thread: memory stays flat, whatever the traffic.
 */
export async function driftOfFiles(
  inputs: readonly string[],
  model: IsolationForestModel,
  dialect: CsvDialect,
  stdin: Readable,
): Promise<DriftInput> {
  if (inputs.filter((f) => f === '-').length > 1) throw new SecureflowError('usage', 'stdin (-) can be read only once');
  // Every file is checked before the first is read: a typo in the last name fails at once, not after a long read.
  for (const path of inputs) if (path !== '-') checkFile(path);
  const counter = new DriftCounter(referenceBins(model.doc));
  const settings: ChunkSettings = {
    format: 'csv',
    strict: false,
    color: false,
    decimal: dialect.decimal ?? '.',
    derived: dialect.derived ?? 'reject',
    explain: false,
    withIds: false,
    withFile: false,
    warnings: false,
  };
  const out: DriftInput = { counter, rejected: 0, sampleErrors: [] };
  let seq = 0;
  for (const path of inputs) {
    const file = path === '-' ? 'stdin' : path;
    const stream = path === '-' ? stdin : createReadStream(path, { highWaterMark: 1 << 20 });
    try {
      for await (const chunk of csvChunks(stream as AsyncIterable<Buffer>, file, 1 << 20, [], dialect)) {
        const job = { ...chunk, seq: seq++, columns: { names: [], positions: null, file } };
        const scored = scoreChunkRows(model, job, settings, []); // drift reads features and scores, not decisions
        counter.add(scored.batch.features, scored.batch.anomalyScore, scored.batch.count);
        out.rejected += scored.errors.size;
        for (const [r, e] of scored.errors) {
          if (out.sampleErrors.length >= 5) break;
          out.sampleErrors.push({ file, line: scored.rows.line(r), field: e.field, reason: e.reason });
        }
      }
    } finally {
      if (path !== '-') (stream as Readable).destroy();
    }
  }
  return out;
}

function checkFile(path: string): void {
  let directory = false;
  try {
    directory = statSync(path).isDirectory();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new SecureflowError('not_found', `input file not found: ${path}`, { file: path });
    throw new SecureflowError('invalid', `cannot read ${path}: ${(e as Error).message}`, { file: path });
  }
  if (directory) throw new SecureflowError('invalid', `${path} is a directory, expected a CSV file`);
}
