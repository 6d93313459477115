import {
  parseColumnMappings,
  parseDecimal,
  parseDelimiter,
  parseDerived,
  parseEncoding,
  type CsvDialect,
} from '../../core/batch/dialect.js';
import { driftOfFiles } from '../../core/drift-files.js';
import { SecureflowError } from '../../core/errors.js';
import { noisyBelow, type DriftFigure, type DriftReport } from '../../model/drift.js';
import { resolveFormat, type IOStreams } from '../io.js';
import { readOnlyModel } from '../read-only-model.js';
import { renderTable } from '../table.js';
import { colorEnabled, formatInt, painter } from '../terminal.js';

export interface DriftOptions {
  model?: string;
  db?: string;
  format?: 'text' | 'json';
  failOnDrift?: boolean;
  quiet?: boolean;
  delimiter?: string;
  column?: string[];
  decimal?: string;
  encoding?: string;
  derived?: string;
}

/** The JSON document: figures rounded for reading (the verdicts are taken on the exact values). */
export function driftJson(report: DriftReport): unknown {
  const figure = (f: DriftFigure) => ({
    psi: round(f.psi, 6),
    band: f.band,
    drifted: f.drifted,
    largest_shift: {
      bin: f.largest_shift.bin,
      expected: round(f.largest_shift.expected, 6),
      actual: round(f.largest_shift.actual, 6),
    },
  });
  return {
    features: report.features.map((f) => ({ name: f.name, ...figure(f) })),
    score: figure(report.score),
    drifted: report.drifted,
  };
}

export async function runDrift(files: string[], opts: DriftOptions, io: IOStreams): Promise<void> {
  const dialect = dialectOf(opts);
  // Read-only: the database is only asked for its active model, and never created.
  const { model, source } = await readOnlyModel(opts, io);
  const input = await driftOfFiles(files, model, dialect, io.stdin);
  const { counter, rejected, sampleErrors } = input;
  if (counter.rows === 0) {
    const why = rejected > 0 ? `all ${formatInt(rejected)} rows were rejected` : 'no rows';
    const first = sampleErrors[0];
    throw new SecureflowError(
      'invalid',
      `${files.join(', ')}: ${why}; nothing to compare${first ? ` (${first.file}: line ${first.line}: ${first.field} ${first.reason})` : ''}`,
    );
  }
  const report = counter.report();
  if (resolveFormat(opts.format, io, 'text', 'json') === 'json')
    io.stdout.write(`${JSON.stringify(driftJson(report))}\n`);
  else io.stdout.write(driftText(report, colorEnabled(io.stdout)));

  const noisy = noisyBelow(counter.bins);
  if (!opts.quiet) {
    io.stderr.write(
      `${formatInt(report.rows)} rows against model ${model.version} (${source.startsWith('active model') ? "the database's active model" : source})` +
        `${rejected > 0 ? `; ${formatInt(rejected)} rejected, left out` : ''}\n`,
    );
    if (report.rows < noisy)
      io.stderr.write(
        `note: PSI from ${formatInt(report.rows)} rows is mostly sampling noise (with no drift at all it averages about ` +
          `${((counter.bins[0].expected.length - 1) / report.rows).toFixed(2)} a feature); ${formatInt(noisy)} rows or more read reliably\n`,
      );
  }
  // As for score: rows that could not be read exit 3 whatever the gate says, and are named.
  if (rejected > 0) {
    for (const e of sampleErrors) io.stderr.write(`  ${e.file}: line ${e.line}: ${e.field} ${e.reason}\n`);
    if (rejected > sampleErrors.length)
      io.stderr.write(`  ... and ${formatInt(rejected - sampleErrors.length)} more\n`);
    throw new SecureflowError(
      'invalid',
      `${formatInt(rejected)} row${rejected === 1 ? '' : 's'} rejected; the figures leave them out`,
      { rejected },
    );
  }
  if (opts.failOnDrift && report.drifted) {
    const names = [...report.features.filter((f) => f.drifted).map((f) => f.name)];
    if (report.score.drifted) names.push('anomaly_score');
    throw new SecureflowError(
      'anomaly',
      `drifted from the training distribution: ${names.join(', ')} (--fail-on-drift)`,
    );
  }
}

function driftText(report: DriftReport, color: boolean): string {
  const p = painter(color);
  const percent = (x: number) => `${(100 * x).toFixed(1)}%`;
  const paint = (f: DriftFigure, text: string) =>
    f.band === 'drifted' ? p.red(text) : f.band === 'watch' ? p.bold(text) : text;
  const rows = [...report.features, { name: 'anomaly_score', ...report.score }].map((f) => [
    f.name,
    f.psi.toFixed(4),
    f.band,
    `${f.largest_shift.bin}: ${percent(f.largest_shift.expected)} -> ${percent(f.largest_shift.actual)}`,
  ]);
  // Aligned on the plain text, then painted, so colour codes do not upset the widths.
  const lines = renderTable(['feature', 'psi', 'band', 'largest shift (training -> traffic)'], rows)
    .trimEnd()
    .split('\n');
  const figures = [...report.features, report.score];
  const painted = lines.map((line, i) => (i === 0 ? line : paint(figures[i - 1], line)));
  const verdict = report.drifted ? p.red('drifted') : 'not drifted';
  return `${painted.join('\n')}\n\n${verdict} (${formatInt(report.rows)} rows; PSI < 0.1 stable, 0.1-0.25 watch, >= 0.25 drifted)\n`;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function dialectOf(opts: DriftOptions): CsvDialect {
  return {
    delimiter: opts.delimiter === undefined ? undefined : parseDelimiter(opts.delimiter),
    columns: opts.column === undefined ? undefined : parseColumnMappings(opts.column),
    decimal: opts.decimal === undefined ? undefined : parseDecimal(opts.decimal),
    encoding: opts.encoding === undefined ? undefined : parseEncoding(opts.encoding),
    derived: opts.derived === undefined ? undefined : parseDerived(opts.derived),
  };
}
