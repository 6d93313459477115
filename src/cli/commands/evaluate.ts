import { SecureflowError } from '../../core/errors.js';
import { loadModel } from '../../core/model-source.js';
import { readRows } from '../../core/read-rows.js';
import { evaluateScores, type EvaluationMetrics } from '../../model/index.js';
import { formatInt } from '../terminal.js';
import { resolveFormat, type IOStreams } from '../io.js';

export interface EvaluateOptions {
  labelColumn: string;
  positive?: string;
  model?: string;
  threshold?: number;
  format?: 'table' | 'json';
}

/** Which label value marks an anomaly: -1 for the original's -1/1, 1 for 0/1, true for true/false. */
export function positiveLabel(values: Set<string>, explicit?: string): string {
  if (explicit !== undefined) return explicit;
  const lower = new Set([...values].map((v) => v.toLowerCase()));
  const within = (allowed: string[]) => [...lower].every((v) => allowed.includes(v));
  if (within(['-1', '1'])) return '-1';
  if (within(['0', '1'])) return '1';
  if (within(['true', 'false'])) return 'true';
  throw new SecureflowError(
    'usage',
    `cannot tell which label marks an anomaly (values: ${[...values].slice(0, 5).join(', ')}); use --positive VALUE`,
  );
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
