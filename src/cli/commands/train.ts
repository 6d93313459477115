import { SecureflowError } from '../../core/errors.js';
import { readRows } from '../../core/read-rows.js';
import { evaluateScores } from '../../model/metrics.js';
import { IsolationForestModel } from '../../model/model.js';
import type { TrainingProvenance } from '../../model/model-file.js';
import { trainModel, withProvenance } from '../../model/train.js';
import { readStoredTraining } from '../../core/stored-training.js';
import { parseSince } from '../arguments.js';
import { withStore } from '../database.js';
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
  amountTransform: 'none' | 'log1p' | 'auto' | 'conditional';
  dayStartHour: string;
  conditionalFeatures: 'none' | 'all' | 'auto';
  conditionalWeight: number;
  format?: 'text' | 'json';
  register?: boolean;
  activate?: boolean;
  db?: string;
  fromDb?: boolean;
  since?: string;
  untilId?: number;
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
  const since = checkSource(files, opts);
  const { raw, rows, labels, provenance } = opts.fromDb
    ? await fromDatabase(opts.db, since, opts.since, opts.untilId)
    : { ...(await readRows(files, opts.labelColumn)), provenance: null };
  if (rows < 2) throw new SecureflowError('invalid', `training needs at least 2 rows, got ${rows}`);
  const trained = trainModel(raw, rows, {
    trees: opts.trees,
    sampleSize: opts.sampleSize,
    seed: opts.seed,
    contamination,
    threshold: opts.threshold ?? null,
    amountTransform: opts.amountTransform,
    dayStartHour: dayStart,
    conditionalFeatures: opts.conditionalFeatures,
    conditionalWeight: opts.conditionalWeight,
  });
  const doc = provenance ? withProvenance(trained, provenance) : trained;
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
    source: provenance ? 'database' : 'files',
    provenance,
    registered: registered !== null,
    active: registered?.active ?? false,
  };
  if (resolveFormat(opts.format, io, 'text', 'json') === 'json') {
    io.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    io.stdout.write(
      `trained model ${doc.id} on ${provenance ? describeStored(provenance) : `${formatInt(rows)} rows`} in ${((performance.now() - started) / 1000).toFixed(2)} s: ` +
        `${doc.options.trees} trees, ${doc.forest.sampleSize} rows each, seed ${doc.options.seed}, ` +
        `threshold ${doc.threshold.toFixed(4)} -> ${opts.out}${registered ? `; registered${registered.active ? ' and active' : ''}` : ''}\n`,
    );
  }
}

/**
 * Files or `--from-db`, never both (and `--since`, `--until-id` only with the database): the parsed `--since`.
 */
function checkSource(files: string[], opts: TrainOptions): Date | undefined {
  if (!opts.fromDb) {
    if (files.length === 0)
      throw new SecureflowError('usage', 'give CSV files to train on (or --from-db for the stored transactions)', {
        field: 'files',
      });
    for (const [flag, value] of [
      ['--since', opts.since],
      ['--until-id', opts.untilId],
    ] as const)
      if (value !== undefined)
        throw new SecureflowError('usage', `${flag} chooses stored transactions: it goes with --from-db`, {
          field: flag.slice(2),
        });
    return undefined;
  }
  if (files.length > 0)
    throw new SecureflowError(
      'usage',
      `--from-db trains on the database's transactions: give no FILE with it (got ${files.join(', ')})`,
      { field: 'from-db' },
    );
  if (opts.labelColumn !== undefined)
    throw new SecureflowError('usage', '--label-column names a CSV column: not with --from-db', {
      field: 'label-column',
    });
  if (opts.since === undefined) return undefined;
  const since = parseSince(opts.since);
  if (!since)
    throw new SecureflowError(
      'usage',
      `--since must be like 7d, 24h, 30m or an ISO-8601 date (years 1 to 9999), got ${JSON.stringify(opts.since)}`,
      { field: 'since' },
    );
  return since;
}

/**
 * The stored transactions of the window, less those an analyst confirmed as fraud, read without creating a
 * database (a typo in --db must not train on nothing), and where they came from for the model document.
 */
async function fromDatabase(
  db: string | undefined,
  since: Date | undefined,
  sinceText: string | undefined,
  untilId: number | undefined,
): Promise<{ raw: Float64Array; rows: number; labels: null; provenance: TrainingProvenance }> {
  const stored = await withStore(db, (store) => readStoredTraining(store, { since, untilId }), { mustExist: true });
  const window = `stored transaction${sinceText === undefined ? 's' : `s since ${sinceText}`}${untilId === undefined ? '' : ` up to id ${untilId}`}`;
  if (stored.rows < 2 || stored.firstId === null || stored.lastId === null)
    throw new SecureflowError(
      'invalid',
      `training needs at least 2 rows: ${formatInt(stored.rows + stored.leftOut)} ${window}, ` +
        `${formatInt(stored.leftOut)} of them confirmed fraud (left out)`,
      { field: 'from-db' },
    );
  return {
    raw: stored.raw,
    rows: stored.rows,
    labels: null,
    provenance: {
      source: 'database',
      since: sinceText === undefined ? null : recordedSince(sinceText, since!),
      untilId: untilId ?? null,
      firstId: stored.firstId,
      lastId: stored.lastId,
      rows: stored.rows,
      leftOut: stored.leftOut,
      sha256: stored.sha256,
    },
  };
}

/** `--since` as the model records it: a span as given ("30d": the moment moves with the clock), a date as UTC ISO. */
function recordedSince(text: string, since: Date): string {
  const span = /^(\d+)\s*([mhdw])$/i.exec(text.trim());
  return span ? `${Number(span[1])}${span[2].toLowerCase()}` : since.toISOString();
}

function describeStored(p: TrainingProvenance): string {
  return (
    `${formatInt(p.rows)} stored transactions (ids ${p.firstId}..${p.lastId}` +
    `${p.since === null ? '' : `, since ${p.since}`}; ${formatInt(p.leftOut)} confirmed fraud left out)`
  );
}
