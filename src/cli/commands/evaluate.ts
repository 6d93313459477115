import { SecureflowError } from '../../core/errors.js';
import { loadModel } from '../../core/model-source.js';
import { readRows } from '../../core/read-rows.js';
import { evaluateScores, type EvaluationMetrics } from '../../model/index.js';
import { positiveLabel } from '../labels.js';
import { formatInt } from '../terminal.js';
import { resolveFormat, type IOStreams } from '../io.js';

export interface EvaluateOptions {
  labelColumn: string;
  positive?: string;
  model?: string;
  threshold?: number;
  format?: 'table' | 'json';
}

export async function runEvaluate(file: string, opts: EvaluateOptions, io: IOStreams): Promise<void> {
  const { model } = loadModel(opts.model, opts.threshold);
  const { raw, rows, labels } = await readRows([file], opts.labelColumn);
  if (rows === 0) throw new SecureflowError('invalid', `${file}: no rows to evaluate`);
  const positive = positiveLabel(new Set(labels!), opts.positive).toLowerCase();
  const y = Uint8Array.from(labels!, (v) => (v.toLowerCase() === positive ? 1 : 0));
  const scores = new Float64Array(rows);
  model.scoreRows(raw, rows, scores);
  const m = evaluateScores(scores, y, model.threshold);
  if (resolveFormat(opts.format, io, 'table', 'json') === 'json') io.stdout.write(`${JSON.stringify(m)}\n`);
  else io.stdout.write(formatMetrics(m, model.version, positive));
}

function formatMetrics(m: EvaluationMetrics, version: string, positive: string): string {
  const f = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(4));
  return [
    `model ${version} on ${formatInt(m.rows)} rows (anomaly label: ${positive})`,
    `  ROC-AUC    ${f(m.roc_auc)}`,
    `  PR-AUC     ${f(m.pr_auc)}   (average precision)`,
    `  threshold  ${m.threshold.toFixed(6)}`,
    `  precision  ${f(m.precision)}`,
    `  recall     ${f(m.recall)}`,
    `  F1         ${f(m.f1)}`,
    '',
    '                 flagged   not flagged',
    `  anomaly      ${String(m.tp).padStart(8)}  ${String(m.fn).padStart(12)}`,
    `  normal       ${String(m.fp).padStart(8)}  ${String(m.tn).padStart(12)}`,
    '',
  ].join('\n');
}
