import { writeFileSync } from 'node:fs';
import { SecureflowError } from '../../core/errors.js';
import { readRows } from '../../core/read-rows.js';
import { serializeModel, trainModel } from '../../model/index.js';
import { formatInt } from '../terminal.js';

export interface TrainOptions {
  out: string;
  trees: number;
  sampleSize: number;
  seed: number;
  contamination: string;
  threshold?: number;
  labelColumn?: string;
  amountTransform: 'none' | 'log1p';
  dayStartHour: string;
  format?: 'text' | 'json';
}

export async function runTrain(files: string[], opts: TrainOptions): Promise<void> {
  const contamination = opts.contamination === 'auto' ? 'auto' : Number(opts.contamination);
  if (contamination !== 'auto' && !(contamination > 0 && contamination <= 0.5)) {
    throw new SecureflowError('usage', `--contamination must be in (0, 0.5] or "auto", got ${JSON.stringify(opts.contamination)}`);
  }
  const dayStart = opts.dayStartHour === 'none' ? null : Number(opts.dayStartHour);
  if (dayStart !== null && !(Number.isInteger(dayStart) && dayStart >= 0 && dayStart <= 23)) {
    throw new SecureflowError('usage', `--day-start-hour must be an integer in 0..23 or "none", got ${JSON.stringify(opts.dayStartHour)}`);
  }
  const started = performance.now();
  const { raw, rows } = await readRows(files, opts.labelColumn);
  if (rows < 2) throw new SecureflowError('invalid_input', `training needs at least 2 rows, got ${rows}`);
  const doc = trainModel(raw, rows, {
    trees: opts.trees,
    sampleSize: opts.sampleSize,
    seed: opts.seed,
    contamination,
    threshold: opts.threshold ?? null,
    amountTransform: opts.amountTransform,
    dayStartHour: dayStart,
  });
  try {
    writeFileSync(opts.out, serializeModel(doc));
  } catch (e) {
    throw new SecureflowError('invalid_input', `cannot write ${opts.out}: ${(e as Error).message}`);
  }
  const summary = { id: doc.id, path: opts.out, rows, trees: doc.options.trees, sample_size: doc.forest.sampleSize, seed: doc.options.seed, threshold: doc.threshold };
  if ((opts.format ?? (process.stdout.isTTY ? 'text' : 'json')) === 'json') {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    process.stdout.write(
      `trained model ${doc.id} on ${formatInt(rows)} rows in ${((performance.now() - started) / 1000).toFixed(2)} s: ` +
        `${doc.options.trees} trees, ${doc.forest.sampleSize} rows each, seed ${doc.options.seed}, ` +
        `threshold ${doc.threshold.toFixed(4)} -> ${opts.out}\n`,
    );
  }
}
