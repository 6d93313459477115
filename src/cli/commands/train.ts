import { SecureflowError } from '../../core/errors.js';
import { readRows } from '../../core/read-rows.js';
import { evaluateScores } from '../../model/metrics.js';
import { IsolationForestModel } from '../../model/model.js';
import { trainModel } from '../../model/train.js';
import { registerModelDocument, writeModelFile } from '../model-output.js';
import { positiveLabel } from '../labels.js';
import { formatInt } from '../terminal.js';
import { resolveFormat, type IOStreams } from '../io.js';

export interface TrainOptions {
  out: string;
  trees: number;
  sampleSize: number;
  seed: number;
  contamination: string;
  threshold?: number;
  labelColumn?: string;
  amountTransform: 'none' | 'log1p' | 'auto';
  dayStartHour: string;
  format?: 'text' | 'json';
  register?: boolean;
  activate?: boolean;
  db?: string;
}

export async function runTrain(files: string[], opts: TrainOptions, io: IOStreams): Promise<void> {
  // 0.05 or 5%, as --max-anomaly-rate takes it.
  const text = opts.contamination.trim();
  const contamination =
    text === 'auto' ? 'auto' : text.endsWith('%') && text.length > 1 ? Number(text.slice(0, -1)) / 100 : Number(text);
  if (contamination !== 'auto' && !(contamination > 0 && contamination <= 0.5)) {
    throw new SecureflowError(
      'usage',
      `--contamination must be in (0, 0.5] or "auto", got ${JSON.stringify(opts.contamination)}`,
    );
  }
  const dayStart =
    opts.dayStartHour === 'none' ? null : opts.dayStartHour === 'auto' ? 'auto' : Number(opts.dayStartHour);
  if (dayStart !== null && dayStart !== 'auto' && !(Number.isInteger(dayStart) && dayStart >= 0 && dayStart <= 23)) {
    throw new SecureflowError(
      'usage',
      `--day-start-hour must be an integer in 0..23, "auto" or "none", got ${JSON.stringify(opts.dayStartHour)}`,
    );
  }
  const started = performance.now();
  if (opts.activate && !opts.register) throw new SecureflowError('usage', '--activate needs --register');
  const { raw, rows, labels } = await readRows(files, opts.labelColumn);
  if (rows < 2) throw new SecureflowError('invalid', `training needs at least 2 rows, got ${rows}`);
  const doc = trainModel(raw, rows, {
    trees: opts.trees,
    sampleSize: opts.sampleSize,
    seed: opts.seed,
    contamination,
    threshold: opts.threshold ?? null,
    amountTransform: opts.amountTransform,
    dayStartHour: dayStart,
  });
  writeModelFile(opts.out, doc);
  let registered: { id: number; active: boolean } | null = null;
  if (opts.register) {
    // With labels, the model's metrics on its own training data are kept with it (models list shows them).
    let metrics: unknown = null;
    if (labels) {
      const positive = positiveLabel(new Set(labels)).toLowerCase();
      const scores = new Float64Array(rows);
      new IsolationForestModel(doc).scoreRows(raw, rows, scores);
      metrics = evaluateScores(
        scores,
        Uint8Array.from(labels, (l) => (l.toLowerCase() === positive ? 1 : 0)),
        doc.threshold,
      );
    }
    registered = await registerModelDocument(doc, rows, metrics, opts);
  }
  const summary = {
    id: doc.id,
    path: opts.out,
    rows,
    trees: doc.options.trees,
    sample_size: doc.forest.sampleSize,
    seed: doc.options.seed,
    threshold: doc.threshold,
    registered: registered !== null,
    active: registered?.active ?? false,
  };
  if (resolveFormat(opts.format, io, 'text', 'json') === 'json') {
    io.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    io.stdout.write(
      `trained model ${doc.id} on ${formatInt(rows)} rows in ${((performance.now() - started) / 1000).toFixed(2)} s: ` +
        `${doc.options.trees} trees, ${doc.forest.sampleSize} rows each, seed ${doc.options.seed}, ` +
        `threshold ${doc.threshold.toFixed(4)} -> ${opts.out}${registered ? `; registered${registered.active ? ' and active' : ''}` : ''}\n`,
    );
  }
}
