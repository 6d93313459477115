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
  if (opts.targetPrecision !== undefined && !opts.labelColumn)
    throw new SecureflowError('usage', '--target-precision needs --label-column NAME (the labels to measure it on)', {
      field: 'label-column',
    });
  if (opts.positive !== undefined && !opts.labelColumn)
    throw new SecureflowError('usage', '--positive needs --label-column', { field: 'positive' });
  if (opts.activate && !opts.register) throw new SecureflowError('usage', '--activate needs --register');
  if (files.filter((f) => f === '-').length > 1)
    throw new SecureflowError('usage', 'stdin (-) can be given only once', { field: 'files' });

  const { model } = loadModel(opts.model);
  const { raw, rows, labels } = await readRows(files, opts.labelColumn);
  if (rows === 0) throw new SecureflowError('invalid', `${files.join(', ')}: no rows to calibrate on`);
  const scores = new Float64Array(rows);
  model.scoreRows(raw, rows, scores);
  let positive: string | null = null;
  let y: Uint8Array | null = null;
  if (labels) {
    positive = positiveLabel(new Set(labels), opts.positive).toLowerCase();
    y = Uint8Array.from(labels, (v) => (v.toLowerCase() === positive ? 1 : 0));
  }

  const method = opts.alertRate !== undefined ? 'alert-rate' : 'target-precision';
  const target = (opts.alertRate ?? opts.targetPrecision)!;
  const choice =
    method === 'alert-rate' ? thresholdForAlertRate(scores, target) : thresholdForPrecision(scores, y!, target);
  const before = figuresAt(scores, y, model.threshold);
  const after = figuresAt(scores, y, choice.threshold);

  const calibration: Omit<ModelCalibration, 'fromVersion' | 'fromThreshold'> = {
    method,
    target,
    rows,
    flagged: after.flagged.successes,
    positives: after.recall?.n ?? null,
    labelColumn: opts.labelColumn ?? null,
    files: await Promise.all(files.map(fileRecord)),
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
    `on ${formatInt(rows)} rows${y ? ` (${formatInt(after.recall!.n)} labelled anomalies, label ${positive})` : ''}; 95% Wilson intervals`,
    ...figuresText('before', before),
    ...figuresText('after', after),
  ];
  if (choice.note) lines.push(`  note: ${choice.note}`);
  lines.push(
    `-> ${opts.out}: model ${doc.id} (same trees, new threshold)` +
      `${registered ? `; registered${registered.active ? ' and active' : ''}` : ''}`,
    '',
  );
  io.stdout.write(lines.join('\n'));
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
