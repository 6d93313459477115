import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { runBatch, type BatchSummary } from '../../core/batch/run-batch.js';
import type { BatchFormat } from '../../core/batch/output-format.js';
import { SecureflowError } from '../../core/errors.js';
import { loadModel } from '../../core/model-source.js';
import { scoreTransaction, type ScoreResult } from '../../core/score-transaction.js';
import { nullSink } from '../../core/sink.js';
import { colorEnabled, formatInt, painter, progressBar } from '../terminal.js';
import { formatResultText } from '../format-result.js';

export interface ScoreOptions {
  amount?: string;
  hour?: string;
  dayOfWeek?: string;
  merchantCategory?: string;
  transactionType?: string;
  timestamp?: string;
  merchant?: string;
  category?: string;
  type?: string;
  id?: string;
  json?: string;
  format?: 'table' | 'csv' | 'json' | 'ndjson' | 'text';
  output?: string;
  model?: string;
  threshold?: number;
  workers?: number;
  explain?: boolean;
  strict?: boolean;
  failOnAnomaly?: boolean;
  maxAnomalyRate?: number;
  store: boolean;
  quiet?: boolean;
}

const FLAG_FIELDS: [keyof ScoreOptions, string][] = [
  ['amount', 'amount'],
  ['hour', 'hour'],
  ['dayOfWeek', 'day_of_week'],
  ['merchantCategory', 'merchant_category'],
  ['transactionType', 'transaction_type'],
  ['timestamp', 'timestamp'],
  ['merchant', 'merchant'],
  ['category', 'category'],
  ['type', 'type'],
  ['id', 'id'],
];

export async function runScore(files: string[], opts: ScoreOptions): Promise<void> {
  const fromFlags = FLAG_FIELDS.filter(([k]) => opts[k] !== undefined);
  if (files.length > 0 && (fromFlags.length > 0 || opts.json !== undefined)) {
    throw new SecureflowError('usage', 'give either CSV files or one transaction (flags or --json), not both');
  }
  // Storage arrives with the database (issue 3); until then every run behaves as --no-store.
  const sink = nullSink();
  const out: Writable = opts.output ? createWriteStream(opts.output) : process.stdout;
  try {
    if (files.length > 0) await scoreFiles(files, opts, out);
    else await scoreSingle(opts, fromFlags, out);
  } finally {
    await sink.close();
    if (opts.output) {
      (out as NodeJS.WritableStream).end();
      await once(out, 'close');
    }
  }
}

async function scoreSingle(opts: ScoreOptions, fromFlags: [keyof ScoreOptions, string][], out: Writable): Promise<void> {
  if (opts.format === 'csv') {
    throw new SecureflowError('usage', '--format csv is for CSV input; use text, json or ndjson for one transaction');
  }
  let input: unknown;
  if (opts.json !== undefined) input = parseJson(opts.json, '--json');
  else if (fromFlags.length > 0) input = Object.fromEntries(fromFlags.map(([k, field]) => [field, opts[k]]));
  else if (process.stdin.isTTY) {
    throw new SecureflowError('usage', 'nothing to score: give CSV files, transaction flags (--amount ...), --json, or JSON on stdin');
  } else input = parseJson(await readStdin(), 'stdin');

  const { model } = loadModel(opts.model, opts.threshold);
  const many = Array.isArray(input);
  const inputs = many ? (input as unknown[]) : [input];
  const results: ScoreResult[] = [];
  for (const [i, item] of inputs.entries()) {
    try {
      results.push(scoreTransaction(model, item, 'cli'));
    } catch (e) {
      if (e instanceof SecureflowError && many) throw new SecureflowError(e.kind, `transaction ${i}: ${e.message}`, e.details);
      throw e;
    }
  }
  const format = opts.format ?? (process.stdout.isTTY && !opts.output ? 'text' : 'json');
  if (format === 'json') out.write(`${JSON.stringify(many ? results : results[0], null, 2)}\n`);
  else if (format === 'ndjson') out.write(results.map((r) => `${JSON.stringify(r)}\n`).join(''));
  else out.write(results.map((r) => formatResultText(r, painter(!opts.output && colorEnabled(process.stdout)))).join('\n'));
  const flagged = results.filter((r) => r.is_anomaly).length;
  checkGates(opts, flagged, results.length);
}

async function scoreFiles(files: string[], opts: ScoreOptions, out: Writable): Promise<void> {
  const toTerminal = !opts.output && Boolean(process.stdout.isTTY);
  const requested = opts.format === 'text' ? 'table' : opts.format;
  const format: BatchFormat = requested ?? (toTerminal ? 'table' : 'csv');
  if (files.filter((f) => f === '-').length > 1) throw new SecureflowError('usage', 'stdin (-) can be read only once');
  const { model, text } = loadModel(opts.model, opts.threshold);
  const showProgress = !opts.quiet && Boolean(process.stderr.isTTY) && !toTerminal;
  const progress = progressBar(process.stderr, showProgress);
  let summary: BatchSummary;
  try {
    summary = await runBatch({
      inputs: files,
      format,
      explain: Boolean(opts.explain),
      strict: Boolean(opts.strict),
      color: toTerminal && colorEnabled(process.stdout),
      workers: opts.workers,
      model,
      modelText: text,
      threshold: opts.threshold,
      output: out,
      onProgress: progress.update,
    });
  } finally {
    progress.done();
  }
  const scored = summary.rows - summary.errors;
  if (!opts.quiet) printSummary(summary, scored);
  if (summary.stoppedAt) {
    const s = summary.stoppedAt;
    throw new SecureflowError('invalid_input', `${s.file}: line ${s.line}: ${s.field} ${s.reason} (stopped by --strict)`, { ...s });
  }
  checkGates(opts, summary.flagged, scored);
  if (summary.errors > 0) process.exitCode = 3;
}

function printSummary(s: BatchSummary, scored: number): void {
  const p = painter(colorEnabled(process.stderr));
  const rate = scored > 0 ? (100 * s.flagged) / scored : 0;
  const errors = s.errors > 0 ? p.red(`${formatInt(s.errors)} errors`) : '0 errors';
  process.stderr.write(
    `${formatInt(s.rows)} rows in ${(s.elapsedMs / 1000).toFixed(2)} s: ${formatInt(scored)} scored, ` +
      `${p.bold(formatInt(s.flagged))} flagged (${rate.toFixed(2)}%), ${errors}\n`,
  );
  for (const e of s.sampleErrors) process.stderr.write(`  ${e.file}: line ${e.line}: ${e.field} ${e.reason}\n`);
  if (s.errors > s.sampleErrors.length) process.stderr.write(`  ... and ${formatInt(s.errors - s.sampleErrors.length)} more (see the error column)\n`);
}

/** The CI gates: --fail-on-anomaly and --max-anomaly-rate. */
function checkGates(opts: ScoreOptions, flagged: number, scored: number): void {
  if (opts.failOnAnomaly && flagged > 0) {
    throw new SecureflowError('anomaly', `${formatInt(flagged)} transaction${flagged === 1 ? '' : 's'} flagged (--fail-on-anomaly)`);
  }
  if (opts.maxAnomalyRate !== undefined && scored > 0 && flagged / scored > opts.maxAnomalyRate) {
    throw new SecureflowError(
      'anomaly',
      `anomaly rate ${((100 * flagged) / scored).toFixed(2)}% exceeds --max-anomaly-rate ${(100 * opts.maxAnomalyRate).toFixed(2)}%`,
    );
  }
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SecureflowError('invalid_input', `${where} is not valid JSON: ${(e as Error).message}`);
  }
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const piece of process.stdin) parts.push(piece as Buffer);
  return Buffer.concat(parts).toString('utf8');
}
