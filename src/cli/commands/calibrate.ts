import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { SecureflowError } from '../../core/errors.js';
import { loadModel } from '../../core/model-source.js';
import { readRows } from '../../core/read-rows.js';
import {
  figuresAt,
  formatShare,
  thresholdForAlertRate,
  thresholdForPrecision,
  withCalibratedThreshold,
  type Estimate,
  type ThresholdFigures,
} from '../../model/calibrate.js';
import { evaluateScores } from '../../model/metrics.js';
import type { ModelCalibration } from '../../model/model-file.js';
import { FEATURE_COUNT, FEATURES } from '../../model/features.js';
import { withStore } from '../database.js';
import { resolveFormat, type IOStreams } from '../io.js';
import { positiveLabel } from '../labels.js';
import { registerModelDocument, writeModelFile } from '../model-output.js';
import { formatInt } from '../terminal.js';

export interface CalibrateOptions {
  out: string;
  model?: string;
  alertRate?: number;
  targetPrecision?: number;
  labelColumn?: string;
  positive?: string;
  fromFeedback?: boolean;
  format?: 'text' | 'json';
  register?: boolean;
  activate?: boolean;
  db?: string;
}

/**
 * `secureflow calibrate`: scores the given traffic with a model (read as evaluate reads files: every row, any
 * bad row refused) and writes the same model with the threshold that flags the asked share of it, or reaches
 * the asked precision against labels.
 */
export async function runCalibrate(files: string[], opts: CalibrateOptions, io: IOStreams): Promise<void> {
  if ((opts.alertRate === undefined) === (opts.targetPrecision === undefined))
    throw new SecureflowError('usage', 'give exactly one of --alert-rate RATE or --target-precision P', {
      field: 'alert-rate',
    });
  if (opts.fromFeedback) {
    if (files.length > 0)
      throw new SecureflowError('usage', "--from-feedback reads the database's verdicts: give no FILE with it", {
        field: 'from-feedback',
      });
    if (opts.targetPrecision === undefined)
      throw new SecureflowError(
        'usage',
        '--from-feedback goes with --target-precision (reviewed transactions are not a sample of traffic: use --alert-rate with files)',
        { field: 'from-feedback' },
      );
    if (opts.labelColumn !== undefined || opts.positive !== undefined)
      throw new SecureflowError(
        'usage',
        '--from-feedback takes its labels from the verdicts: no --label-column or --positive',
        {
          field: 'label-column',
        },
      );
  } else {
    if (files.length === 0)
      throw new SecureflowError('usage', 'give CSV files of traffic to calibrate on (or --from-feedback)', {
        field: 'files',
      });
    if (opts.targetPrecision !== undefined && !opts.labelColumn)
      throw new SecureflowError(
        'usage',
        '--target-precision needs --label-column NAME (the labels to measure it on) or --from-feedback',
        { field: 'label-column' },
      );
    if (opts.positive !== undefined && !opts.labelColumn)
      throw new SecureflowError('usage', '--positive needs --label-column', { field: 'positive' });
  }
  if (opts.activate && !opts.register) throw new SecureflowError('usage', '--activate needs --register');
  if (files.filter((f) => f === '-').length > 1)
    throw new SecureflowError('usage', 'stdin (-) can be given only once', { field: 'files' });

  const { model } = loadModel(opts.model);
  const traffic = opts.fromFeedback ? await fromFeedback(opts.db) : await fromFiles(files, opts);
  const { raw, rows, y, positive } = traffic;
  const scores = new Float64Array(rows);
  model.scoreRows(raw, rows, scores);

  const method = opts.alertRate !== undefined ? 'alert-rate' : 'target-precision';
  const target = (opts.alertRate ?? opts.targetPrecision)!;
  const choice =
    method === 'alert-rate' ? thresholdForAlertRate(scores, target) : thresholdForPrecision(scores, y!, target);
  const before = figuresAt(scores, y, model.threshold);
  const after = figuresAt(scores, y, choice.threshold);

  const calibration: Omit<ModelCalibration, 'fromVersion' | 'fromThreshold'> = {
    method,
    source: opts.fromFeedback ? 'feedback' : 'files',
    target,
    rows,
    flagged: after.flagged.successes,
    positives: after.recall?.n ?? null,
    labelColumn: opts.labelColumn ?? null,
    files: traffic.files,
  };
  const doc = withCalibratedThreshold(model.doc, choice.threshold, calibration);
  writeModelFile(opts.out, doc);
  let registered: { id: number; active: boolean } | null = null;
  if (opts.register) {
    // As train does: with labels, the metrics on this traffic at the new threshold are kept with it.
    const metrics = y ? evaluateScores(scores, y, doc.threshold) : null;
    registered = await registerModelDocument(doc, rows, metrics, opts);
  }

  const summary = {
    id: doc.id,
    path: opts.out,
    from_version: model.version,
    method,
    source: calibration.source,
    target,
    rows,
    positives: calibration.positives,
    positive_label: positive,
    files: calibration.files,
    allowed_rows: method === 'alert-rate' ? choice.allowed : null,
    note: choice.note,
    before: figuresJson(before),
    after: figuresJson(after),
    registered: registered !== null,
    active: registered?.active ?? false,
  };
  if (resolveFormat(opts.format, io, 'text', 'json') === 'json') {
    io.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const goal =
    method === 'alert-rate'
      ? `an alert rate of ${formatShare(target)} (at most ${formatInt(choice.allowed)} of ${formatInt(rows)} rows)`
      : `a precision of at least ${formatShare(target)} (the lowest threshold that reaches it)`;
  const lines = [
    `calibrated model ${model.version} for ${goal}`,
    `on ${formatInt(rows)} ${opts.fromFeedback ? 'reviewed transactions' : 'rows'}${
      !y
        ? ''
        : opts.fromFeedback
          ? ` (${formatInt(after.recall!.n)} fraud by the analysts' verdicts)`
          : ` (${formatInt(after.recall!.n)} labelled anomalies, label ${positive})`
    }; 95% Wilson intervals`,
    ...figuresText('before', before),
    ...figuresText('after', after),
  ];
  if (choice.note) lines.push(`  note: ${choice.note}`);
  if (opts.fromFeedback)
    lines.push(
      '  note: analysts review mostly flagged transactions: the flagged share is of reviewed ones, and recall',
      '        counts only the fraud they have seen',
    );
  lines.push(
    `-> ${opts.out}: model ${doc.id} (same trees, new threshold)` +
      `${registered ? `; registered${registered.active ? ' and active' : ''}` : ''}`,
    '',
  );
  io.stdout.write(lines.join('\n'));
}

interface Traffic {
  raw: Float64Array;
  rows: number;
  /** 1 = anomaly, when labels were given. */
  y: Uint8Array | null;
  positive: string | null;
  files: ModelCalibration['files'];
}

/** CSV files, read as evaluate reads them (every row; any bad row refused, naming it). */
async function fromFiles(files: string[], opts: CalibrateOptions): Promise<Traffic> {
  const { raw, rows, labels } = await readRows(files, opts.labelColumn);
  if (rows === 0) throw new SecureflowError('invalid', `${files.join(', ')}: no rows to calibrate on`);
  let positive: string | null = null;
  let y: Uint8Array | null = null;
  if (labels) {
    positive = positiveLabel(new Set(labels), opts.positive).toLowerCase();
    y = Uint8Array.from(labels, (v) => (v.toLowerCase() === positive ? 1 : 0));
  }
  return { raw, rows, y, positive, files: await Promise.all(files.map(fileRecord)) };
}

/**
 * The analysts' verdicts in the database: every reviewed transaction's stored features, labelled fraud when it was
 * flagged and the verdict says right, or passed and the verdict says wrong. Recorded as one input named
 * `feedback`, hashed over the rows and verdicts used (so the same verdicts give the same model).
 */
async function fromFeedback(db: string | undefined): Promise<Traffic> {
  const reviewed = await withStore(db, (store) => store.reviewedTransactions(), { mustExist: true });
  if (reviewed.length === 0)
    throw new SecureflowError(
      'invalid',
      'no transaction has a verdict yet (secureflow feedback ID --correct|--incorrect)',
      {
        field: 'from-feedback',
      },
    );
  const raw = new Float64Array(reviewed.length * FEATURE_COUNT);
  const y = new Uint8Array(reviewed.length);
  const hash = createHash('sha256');
  reviewed.forEach((r, i) => {
    FEATURES.forEach((f, j) => {
      raw[i * FEATURE_COUNT + j] = r[f];
    });
    y[i] = r.is_fraudulent === r.is_correct ? 1 : 0;
    hash.update(
      `${r.id},${r.amount},${r.hour},${r.day_of_week},${r.merchant_category},${r.transaction_type},${y[i]}\n`,
    );
  });
  return { raw, rows: reviewed.length, y, positive: null, files: [{ name: 'feedback', sha256: hash.digest('hex') }] };
}

/** A calibration file's record: its base name and the SHA-256 of its bytes (stdin's bytes are gone: null). */
async function fileRecord(path: string): Promise<{ name: string; sha256: string | null }> {
  if (path === '-') return { name: 'stdin', sha256: null };
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return { name: basename(path), sha256: hash.digest('hex') };
}

function estimateJson(e: Estimate | null) {
  return e && { value: e.value, low: e.low, high: e.high, successes: e.successes, n: e.n };
}

function figuresJson(f: ThresholdFigures) {
  return {
    threshold: f.threshold,
    flagged_share: estimateJson(f.flagged),
    precision: estimateJson(f.precision),
    recall: estimateJson(f.recall),
  };
}

function figuresText(label: string, f: ThresholdFigures): string[] {
  const pct = (x: number) => (Number.isNaN(x) ? 'n/a' : `${(x * 100).toFixed(2)}%`);
  const est = (name: string, e: Estimate, of: string) =>
    `${name.padEnd(10)} ${pct(e.value).padStart(7)}  [${pct(e.low)}, ${pct(e.high)}]  ` +
    `${formatInt(e.successes)} of ${formatInt(e.n)} ${of}`;
  const out = [
    `  ${label.padEnd(7)} threshold ${f.threshold.toFixed(6)}`,
    `          ${est('flagged', f.flagged, 'rows')}`,
  ];
  if (f.precision) out.push(`          ${est('precision', f.precision, 'flagged rows')}`);
  if (f.recall) out.push(`          ${est('recall', f.recall, 'anomalies')}`);
  return out;
}
