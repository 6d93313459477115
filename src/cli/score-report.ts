import { writeFileSync, renameSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { EXIT_OK, exitCodeOf, SecureflowError } from '../core/errors.js';
import { formatInt } from './terminal.js';

/** What a score run ended with, for `--summary-json FILE` (CI reads this rather than parsing stderr). */
export interface ScoreReport {
  rows: number;
  scored: number;
  flagged: number;
  /** Scored transactions by decision (rules, else the model's flag). */
  decisions: { allow: number; review: number; block: number };
  rejected: number;
  stored: number;
  batch_id: string | null;
  model_version: string | null;
  elapsed_seconds: number;
  gate: {
    fail_on_anomaly: boolean;
    max_anomaly_rate: number | null;
    fail_on_decision: FailOnDecision | null;
    passed: boolean;
    reason: string | null;
  };
  interrupted: boolean;
  exit_code: number;
}

/** `--fail-on-decision block`: fail on any block; `review`: on any review or block. */
export type FailOnDecision = 'block' | 'review';

export interface GateOptions {
  failOnAnomaly?: boolean;
  maxAnomalyRate?: number;
  failOnDecision?: FailOnDecision;
}

/** The CI gates (--fail-on-anomaly, --max-anomaly-rate, --fail-on-decision): why the run fails them, or null. */
export function gateFailure(
  opts: GateOptions,
  flagged: number,
  scored: number,
  decisions: ScoreReport['decisions'] = { allow: 0, review: 0, block: 0 },
): string | null {
  if (opts.failOnAnomaly && flagged > 0)
    return `${formatInt(flagged)} transaction${flagged === 1 ? '' : 's'} flagged (--fail-on-anomaly)`;
  if (opts.failOnDecision) {
    const n = decisions.block + (opts.failOnDecision === 'review' ? decisions.review : 0);
    const what = opts.failOnDecision === 'review' ? 'review or block' : 'block';
    if (n > 0)
      return `${formatInt(n)} transaction${n === 1 ? '' : 's'} decided ${what} (--fail-on-decision ${opts.failOnDecision})`;
  }
  if (opts.maxAnomalyRate !== undefined && scored > 0 && flagged / scored > opts.maxAnomalyRate) {
    return `anomaly rate ${((100 * flagged) / scored).toFixed(2)}% exceeds --max-anomaly-rate ${(100 * opts.maxAnomalyRate).toFixed(2)}%`;
  }
  return null;
}

/**
 * Ends a run: rejected rows make the exit 3 whatever gate also fires (a gate that passed on the rows that
 * could be read says nothing about the ones that could not); else a failed gate exits 10. The summary file,
 * when asked for, is written first, whatever the outcome.
 */
export function finishRun(
  opts: GateOptions & { summaryJson?: string },
  counts: Omit<ScoreReport, 'gate' | 'exit_code' | 'interrupted'>,
  stderr: NodeJS.WritableStream,
): void {
  const reason = gateFailure(opts, counts.flagged, counts.scored, counts.decisions);
  const exit = counts.rejected > 0 ? exitCodeOf('invalid') : reason ? exitCodeOf('anomaly') : EXIT_OK;
  if (opts.summaryJson) {
    writeReport(opts.summaryJson, {
      ...counts,
      gate: {
        fail_on_anomaly: Boolean(opts.failOnAnomaly),
        max_anomaly_rate: opts.maxAnomalyRate ?? null,
        fail_on_decision: opts.failOnDecision ?? null,
        passed: reason === null,
        reason,
      },
      interrupted: false,
      exit_code: exit,
    });
  }
  if (counts.rejected > 0) {
    if (reason) stderr.write(`secureflow: ${reason}\n`);
    throw new SecureflowError(
      'invalid',
      `${formatInt(counts.rejected)} row${counts.rejected === 1 ? '' : 's'} rejected (see the error column)`,
      { rejected: counts.rejected },
    );
  }
  if (reason) throw new SecureflowError('anomaly', reason);
}

/** Written to a temporary file and renamed, as -o is: a CI step never reads half a report. */
export function writeReport(path: string, report: ScoreReport): void {
  const target = resolve(path);
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, `${JSON.stringify(report, null, 2)}\n`);
    renameSync(temp, target);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SecureflowError(
      code === 'ENOENT' ? 'not_found' : 'usage',
      `--summary-json ${path}: cannot write it${code ? ` (${code})` : ''}`,
    );
  }
}
