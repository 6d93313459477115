import type { Writable } from 'node:stream';
import { runBatch, type BatchSummary } from '../../core/batch/run-batch.js';
import type { BatchFormat } from '../../core/batch/output-format.js';
import {
  parseColumnMappings,
  parseDecimal,
  parseDelimiter,
  parseDerived,
  parseEncoding,
  type CsvDialect,
} from '../../core/batch/dialect.js';
import { exitCodeOf, SecureflowError } from '../../core/errors.js';
import { resolveScoringModel } from '../../core/model-source.js';
import { scoreTransaction } from '../../core/score-transaction.js';
import type { ScoredTransaction } from '../../core/scored-transaction.js';
import { toNewTransaction, toScoreResult, type ScoreResult } from '../../core/scored-views.js';
import { storeSink } from '../../core/store-sink.js';
import type { Store } from '../../db/store.js';
import type { IsolationForestModel } from '../../model/model.js';
import { withStore } from '../database.js';
import { readOnlyModel } from '../read-only-model.js';
import { openOutputFile } from '../output-file.js';
import { finishRun, writeReport } from '../score-report.js';
import { RemoteClient, remoteTarget } from '../remote-client.js';
import { remoteExecutor } from '../remote-executor.js';
import type { PredictResult } from '../../daemon/contract/shapes.js';
import { resultOf } from '../remote-api.js';
import { colorEnabled, formatInt, painter, progressBar } from '../terminal.js';
import { formatResultText } from '../format-result.js';
import type { IOStreams } from '../io.js';

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
  db?: string;
  remote?: string;
  apiKey?: string;
  quiet?: boolean;
  summaryJson?: string;
  delimiter?: string;
  column?: string[];
  decimal?: string;
  encoding?: string;
  derived?: string;
}

// By exit code: a daemon's answer over its limits (413, 415) is invalid input to the CLI, as a bad row is.
const KEEP_OUTPUT_ON = new Set([exitCodeOf('anomaly'), exitCodeOf('interrupted'), exitCodeOf('invalid')]);

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

export async function runScore(files: string[], opts: ScoreOptions, io: IOStreams): Promise<void> {
  const fromFlags = FLAG_FIELDS.filter(([k]) => opts[k] !== undefined);
  if (files.length > 0 && (fromFlags.length > 0 || opts.json !== undefined)) {
    throw new SecureflowError('usage', 'give either CSV files or one transaction (flags or --json), not both');
  }
  if (opts.format === 'csv' && files.length === 0) {
    throw new SecureflowError('usage', '--format csv is for CSV input; use text, json or ndjson for one transaction');
  }
  const dialect = dialectOf(opts);
  const exportFlags = (['delimiter', 'column', 'decimal', 'encoding', 'derived'] as const).filter(
    (k) => opts[k] !== undefined,
  );
  if (files.length === 0 && exportFlags.length > 0)
    throw new SecureflowError('usage', `--${exportFlags[0]} is for CSV files`);
  const remote = remoteTarget(opts);
  // The daemon reads amounts and derived values its own way; the rest (delimiter, columns, encoding) is done here.
  const remoteOnly = (['decimal', 'derived'] as const).find((k) => opts[k] !== undefined);
  if (remote && remoteOnly)
    throw new SecureflowError(
      'usage',
      `--${remoteOnly} does not apply with --remote: the daemon reads amounts and timestamps itself`,
    );
  if (remote) {
    const local = (['model', 'threshold', 'db', 'workers'] as const).filter(
      (k) => opts[k] !== undefined && !(k === 'model' && process.env.SECUREFLOW_MODEL === opts.model),
    );
    if (local.length > 0)
      throw new SecureflowError(
        'usage',
        `--${local[0]} does not apply with --remote: the daemon scores with its own model and database`,
      );
  }
  const input = files.length === 0 ? await singleInput(opts, fromFlags, io) : null;
  // Checked and opened before the database: a bad -o changes nothing anywhere.
  const file = opts.output ? await openOutputFile(opts.output, files) : null;
  const out: Writable = file ? file.stream : io.stdout;
  // Scores here (with the database's store, if storing) or on the daemon, into stdout or -o FILE.
  const run = async (scorer: Scorer, store: Store | null): Promise<void> => {
    if (input === null) await scoreFiles(files, opts, out, scorer, store, dialect, io);
    else await scoreSingle(input, opts, out, scorer, store, io);
  };
  try {
    if (remote) await run({ client: new RemoteClient(remote.url, remote.apiKey) }, null);
    else if (opts.store)
      await withStore(opts.db, async (store) =>
        run(await resolveScoringModel(opts.model, opts.threshold, store), store),
      );
    else await run(await readOnlyModel(opts, io), null);
  } catch (e) {
    // Outcomes the output describes (gates, --strict stops, interruptions) keep what was written; anything
    // else leaves -o FILE as it was.
    const wrote = file ? file.stream.bytesWritten + file.stream.writableLength > 0 : false;
    if (file && wrote && e instanceof SecureflowError && KEEP_OUTPUT_ON.has(exitCodeOf(e.kind))) await file.commit();
    else await file?.abort();
    throw e;
  }
  await file?.commit();
}

async function singleInput(
  opts: ScoreOptions,
  fromFlags: [keyof ScoreOptions, string][],
  io: IOStreams,
): Promise<unknown> {
  if (opts.json !== undefined) return parseJson(opts.json, '--json');
  if (fromFlags.length > 0) return Object.fromEntries(fromFlags.map(([k, field]) => [field, opts[k]]));
  if (io.stdin.isTTY) {
    throw new SecureflowError(
      'usage',
      'nothing to score: give CSV files, transaction flags (--amount ...), --json, or JSON on stdin',
    );
  }
  return parseJson(await readStdin(io), 'stdin');
}

/** Scores here with a model, or on a daemon (`--remote`), which also stores unless --no-store. */
type Scorer =
  | { model: IsolationForestModel; text?: string; client?: undefined }
  | { client: RemoteClient; model?: undefined; text?: undefined };

async function scoreSingle(
  input: unknown,
  opts: ScoreOptions,
  out: Writable,
  scorer: Scorer,
  store: Store | null,
  io: IOStreams,
): Promise<void> {
  const many = Array.isArray(input);
  const inputs = many ? (input as unknown[]) : [input];
  const started = performance.now();
  const results: ScoreResult[] = [];
  const scored: ScoredTransaction[] = []; // scored here (not by a daemon): what is stored
  for (const [i, item] of inputs.entries()) {
    try {
      if (scorer.client)
        results.push(
          resultOf(
            await scorer.client.request<PredictResult>('POST', `/api/predict?store=${opts.store}`, { json: item }),
          ),
        );
      else scored.push(scoreTransaction(scorer.model, item));
    } catch (e) {
      if (e instanceof SecureflowError && many)
        throw new SecureflowError(e.kind, `transaction ${i}: ${e.message}`, e.details);
      throw e;
    }
  }
  if (store) {
    const ids = await store.insertTransactions(
      scored.map((t) => toNewTransaction(t, { source: 'cli', batchId: null })),
    );
    ids.forEach((id, i) => {
      scored[i].transaction_id = id;
    });
  }
  const timestamp = new Date().toISOString();
  for (const t of scored) results.push(toScoreResult(t, { dataSource: 'cli', timestamp }));
  const format = opts.format ?? (io.stdout.isTTY && !opts.output ? 'text' : 'json');
  if (format === 'json') out.write(`${JSON.stringify(many ? results : results[0], null, 2)}\n`);
  else if (format === 'ndjson') out.write(results.map((r) => `${JSON.stringify(r)}\n`).join(''));
  else out.write(results.map((r) => formatResultText(r, painter(!opts.output && colorEnabled(io.stdout)))).join('\n'));
  const flagged = results.filter((r) => r.is_anomaly).length;
  finishRun(
    opts,
    {
      rows: results.length,
      scored: results.length,
      flagged,
      rejected: 0,
      stored: store ? results.length : 0,
      batch_id: null,
      model_version: results[0]?.model_version ?? null,
      elapsed_seconds: Math.round(performance.now() - started) / 1000,
    },
    io.stderr,
  );
}

function dialectOf(opts: ScoreOptions): CsvDialect {
  return {
    delimiter: opts.delimiter === undefined ? undefined : parseDelimiter(opts.delimiter),
    columns: opts.column === undefined ? undefined : parseColumnMappings(opts.column),
    decimal: opts.decimal === undefined ? undefined : parseDecimal(opts.decimal),
    encoding: opts.encoding === undefined ? undefined : parseEncoding(opts.encoding),
    derived: opts.derived === undefined ? undefined : parseDerived(opts.derived),
  };
}

async function scoreFiles(
  files: string[],
  opts: ScoreOptions,
  out: Writable,
  scorer: Scorer,
  store: Store | null,
  dialect: CsvDialect,
  io: IOStreams,
): Promise<void> {
  const model = scorer.model ?? null;
  const toTerminal = !opts.output && Boolean(io.stdout.isTTY);
  const requested = opts.format === 'text' ? 'table' : opts.format;
  const format: BatchFormat = requested ?? (toTerminal ? 'table' : 'csv');
  if (files.filter((f) => f === '-').length > 1) throw new SecureflowError('usage', 'stdin (-) can be read only once');
  const showProgress = !opts.quiet && Boolean(io.stderr.isTTY) && !toTerminal;
  const progress = progressBar(io.stderr, showProgress);
  const sink = store && model ? storeSink(store, model, 'cli') : null;
  const stop = interruptions();
  let summary: BatchSummary;
  try {
    summary = await runBatch({
      inputs: files,
      format,
      explain: Boolean(opts.explain),
      strict: Boolean(opts.strict),
      color: toTerminal && colorEnabled(io.stdout),
      workers: opts.workers,
      model,
      modelText: scorer.text ?? '',
      threshold: opts.threshold,
      executor: scorer.client ? (settings) => remoteExecutor(scorer.client, settings, opts.store) : undefined,
      withIds: scorer.client ? opts.store : undefined,
      output: out,
      stdin: io.stdin,
      store: sink ? (batch) => sink.store(batch) : null,
      storeBlocksThread: store?.kind === 'sqlite',
      signal: stop.signal,
      onProgress: progress.update,
      dialect,
    });
  } catch (e) {
    // Whatever was stored is whole chunks; say how much, so a re-run can pick up from there.
    if (sink && sink.stored > 0)
      io.stderr.write(`secureflow: stopped after storing ${formatInt(sink.stored)} rows in batch ${sink.batchId}\n`);
    throw e;
  } finally {
    progress.done();
    stop.dispose();
  }
  const scored = summary.rows - summary.errors;
  if (!opts.quiet || summary.interrupted) printSummary(summary, scored, sink?.batchId ?? null, io);
  const counts = {
    rows: summary.rows,
    scored,
    flagged: summary.flagged,
    rejected: summary.errors,
    stored: summary.stored,
    batch_id: sink?.batchId ?? null,
    model_version: model?.version ?? null,
    elapsed_seconds: Math.round(summary.elapsedMs) / 1000,
  };
  const early = summary.interrupted ? exitCodeOf('interrupted') : summary.stoppedAt ? exitCodeOf('invalid') : null;
  if (early !== null && opts.summaryJson) {
    const gate = {
      fail_on_anomaly: Boolean(opts.failOnAnomaly),
      max_anomaly_rate: opts.maxAnomalyRate ?? null,
      passed: false,
      reason: null,
    };
    writeReport(opts.summaryJson, { ...counts, gate, interrupted: summary.interrupted, exit_code: early });
  }
  if (summary.interrupted)
    throw new SecureflowError(
      'interrupted',
      `interrupted by ${stop.signalName()}: output and storage hold whole chunks only`,
    );
  if (summary.stoppedAt) {
    const s = summary.stoppedAt;
    throw new SecureflowError('invalid', `${s.file}: line ${s.line}: ${s.field} ${s.reason} (stopped by --strict)`, {
      ...s,
    });
  }
  finishRun(opts, counts, io.stderr);
}

/** SIGINT/SIGTERM stop a batch gracefully (finish the chunks in flight); a second one exits at once. */
function interruptions() {
  const controller = new AbortController();
  let name = 'SIGINT';
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(signal === 'SIGTERM' ? 143 : 130);
    name = signal;
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    signalName: () => name,
    dispose(): void {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

function printSummary(s: BatchSummary, scored: number, batchId: string | null, io: IOStreams): void {
  const p = painter(colorEnabled(io.stderr));
  const rate = scored > 0 ? (100 * s.flagged) / scored : 0;
  const errors = s.errors > 0 ? p.red(`${formatInt(s.errors)} errors`) : '0 errors';
  io.stderr.write(
    `${formatInt(s.rows)} rows in ${(s.elapsedMs / 1000).toFixed(2)} s: ${formatInt(scored)} scored, ` +
      `${p.bold(formatInt(s.flagged))} flagged (${rate.toFixed(2)}%), ${errors}\n`,
  );
  if (s.warned > 0)
    io.stderr.write(
      `${formatInt(s.warned)} ${s.warned === 1 ? 'row' : 'rows'} scored with a derived value (see the warning column)\n`,
    );
  if (batchId) io.stderr.write(`stored ${formatInt(s.stored)} rows as batch ${batchId}\n`);
  for (const e of s.sampleErrors) io.stderr.write(`  ${e.file}: line ${e.line}: ${e.field} ${e.reason}\n`);
  if (s.errors > s.sampleErrors.length)
    io.stderr.write(`  ... and ${formatInt(s.errors - s.sampleErrors.length)} more (see the error column)\n`);
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SecureflowError('invalid', `${where} is not valid JSON: ${(e as Error).message}`);
  }
}

async function readStdin(io: IOStreams): Promise<string> {
  const parts: Buffer[] = [];
  for await (const piece of io.stdin) parts.push(piece as Buffer);
  return Buffer.concat(parts).toString('utf8');
}
