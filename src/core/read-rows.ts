import { createReadStream, existsSync } from 'node:fs';
import { FEATURE_COUNT } from '../model/features.js';
import { readTransaction, type FieldError } from '../model/transaction.js';
import { csvChunks } from './batch/csv-chunks.js';
import { parseRecords } from './batch/csv-records.js';
import { SecureflowError } from './errors.js';

export interface LoadedRows {
  /** Row-major raw features, FEATURES order. */
  raw: Float64Array;
  rows: number;
  /** The label column's cells, when one was asked for. */
  labels: string[] | null;
}

/**
 * Reads whole CSV files into memory for training or evaluation (they need every row at once).
 * Any bad row fails the read, naming file, line and field: a model must not be trained on part of the data.
 */
export async function readRows(inputs: string[], labelColumn?: string): Promise<LoadedRows> {
  let raw = new Float64Array(1024 * FEATURE_COUNT);
  let rows = 0;
  const labels: string[] | null = labelColumn ? [] : null;
  const errors: string[] = [];
  let errorCount = 0;
  for (const path of inputs) {
    const file = path === '-' ? 'stdin' : path;
    if (path !== '-' && !existsSync(path))
      throw new SecureflowError('not_found', `input file not found: ${path}`, { file: path });
    const stream = path === '-' ? process.stdin : createReadStream(path, { highWaterMark: 1 << 20 });
    for await (const chunk of csvChunks(stream, file, 1 << 20, labelColumn ? [labelColumn] : [])) {
      const index = new Map<string, number>();
      chunk.header.forEach((name, i) => {
        index.has(name.toLowerCase()) || index.set(name.toLowerCase(), i);
      });
      const labelAt = labelColumn
        ? chunk.header.findIndex((h) => h.toLowerCase() === labelColumn.trim().toLowerCase())
        : -1;
      let cells: string[] = [];
      const get = (name: string) => {
        const i = index.get(name);
        return i === undefined ? undefined : cells[i];
      };
      const records = parseRecords(chunk.bytes.toString('utf8'), chunk.firstLine);
      for (let r = 0; r < records.count; r++) {
        cells = records.cells(r);
        if ((rows + 1) * FEATURE_COUNT > raw.length) {
          const bigger = new Float64Array(raw.length * 2);
          bigger.set(raw);
          raw = bigger;
        }
        let error: FieldError | null =
          cells.length !== chunk.header.length
            ? { field: 'row', reason: `has ${cells.length} fields, the header has ${chunk.header.length}` }
            : readTransaction(get, raw, rows * FEATURE_COUNT);
        if (!error && labels && (cells[labelAt] ?? '').trim() === '')
          error = { field: labelColumn!, reason: 'is empty' };
        if (error) {
          errorCount++;
          if (errors.length < 5) errors.push(`${file}: line ${records.line(r)}: ${error.field} ${error.reason}`);
          continue;
        }
        labels?.push(cells[labelAt].trim());
        rows++;
      }
    }
  }
  if (errorCount > 0) {
    const more = errorCount > errors.length ? `\n  ... and ${errorCount - errors.length} more` : '';
    throw new SecureflowError(
      'invalid',
      `${errorCount} bad row${errorCount === 1 ? '' : 's'}; nothing was used:\n  ${errors.join('\n  ')}${more}`,
    );
  }
  return { raw: raw.subarray(0, rows * FEATURE_COUNT), rows, labels };
}
