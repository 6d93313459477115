import { FEATURES } from '../../model/features.js';
import type { RuleErrorOnRow } from '../rules/apply-rules.js';
import type { RuleMatch } from '../rules/decide.js';
import { csvEscape } from './csv-records.js';

export type BatchFormat = 'csv' | 'ndjson' | 'json' | 'table';

/** What a run adds to every row beyond the input's columns and the scores. */
export interface RowShape {
  explain: boolean;
  /** Storage is on: rows carry the stored row's transaction_id. */
  withIds: boolean;
  /** More than one input: rows carry the file they came from. */
  withFile: boolean;
  /** --derived warn: rows carry a warning column saying what was derived rather than read. */
  warnings: boolean;
}

/**
 * Every name a result may take in any run, whatever the flags: an input column with one of these names is
 * carried as input_<name>, so the same file always gives the same columns and results never overwrite,
 * duplicate or impersonate input (a payment export's own transaction_id, or a column named error).
 */
const RESERVED = new Set([
  'transaction_id',
  'file',
  'line',
  'model_version',
  'anomaly_score',
  'risk_score',
  'risk_level',
  'is_anomaly',
  'confidence',
  'decision',
  'matched_rules',
  'rule_errors',
  ...FEATURES.map((f) => `shap_${f}`),
  'shap_explanation',
  'top_factor',
  'warning',
  'error',
]);

/** The names input columns are written under: clashing ones prefixed with input_ (case-insensitive). */
export function carriedNames(inputColumns: readonly string[]): string[] {
  const taken = new Set(RESERVED);
  return inputColumns.map((name) => {
    let out = name;
    while (taken.has(out.toLowerCase())) out = `input_${out}`;
    if (out !== name) taken.add(out.toLowerCase());
    return out;
  });
}

/** Result columns appended after the input's own columns. */
export function resultColumns(shape: RowShape): string[] {
  const cols = [
    ...(shape.withIds ? ['transaction_id'] : []),
    ...(shape.withFile ? ['file'] : []),
    'line',
    'anomaly_score',
    'risk_score',
    'risk_level',
    'is_anomaly',
    'confidence',
    'decision',
    'matched_rules',
  ];
  if (shape.explain) cols.push(...FEATURES.map((f) => `shap_${f}`), 'top_factor');
  if (shape.warnings) cols.push('warning');
  cols.push('rule_errors', 'error');
  return cols;
}

/** The values of one output row's result columns, already as text, in resultColumns() order. */
export interface ResultCells {
  /** The stored row's id; empty when not stored. */
  transaction_id: string;
  /** The input file (with more than one input). */
  file: string;
  line: number;
  anomaly_score: string;
  risk_score: string;
  risk_level: string;
  is_anomaly: boolean | null;
  confidence: string;
  /** allow, review or block; empty for a row in error. */
  decision: string;
  /** The rules that matched (null: none). */
  matched_rules: readonly RuleMatch[] | null;
  /** Rules that failed on this row at run time (null: none). */
  rule_errors: readonly RuleErrorOnRow[] | null;
  shap: string[] | null;
  top_factor: string;
  /** What was derived rather than read (--derived warn); empty when nothing was. */
  warning: string;
  error: string;
}

/** `names` are carriedNames() of the input's columns. */
export function csvHeader(names: string[], shape: RowShape): string {
  return `${[...names, ...resultColumns(shape)].map(csvEscape).join(',')}\n`;
}

/** The matched rules in one CSV cell: their names joined by `;` (names hold no `;` or `,`). */
export function matchedRulesCell(matched: readonly RuleMatch[] | null): string {
  if (!matched) return '';
  let out = '';
  for (let i = 0; i < matched.length; i++) out += i > 0 ? `;${matched[i].name}` : matched[i].name;
  return out;
}

/** Rules that failed on a row, in one CSV cell: `rule: error` joined by `; `. */
export function ruleErrorsCell(errors: readonly RuleErrorOnRow[] | null): string {
  return errors ? errors.map((e) => `${e.rule}: ${e.error}`).join('; ') : '';
}

export function csvRow(inputText: string, r: ResultCells, shape: RowShape): string {
  let out = `${inputText},${shape.withIds ? `${r.transaction_id},` : ''}${shape.withFile ? `${csvEscape(r.file)},` : ''}${r.line},${r.anomaly_score},${r.risk_score},${r.risk_level},${r.is_anomaly === null ? '' : r.is_anomaly},${r.confidence},${r.decision},${matchedRulesCell(r.matched_rules)}`;
  if (shape.explain) out += `,${r.shap ? r.shap.join(',') : ',,,,'},${r.top_factor}`;
  if (shape.warnings) out += `,${r.warning === '' ? '' : csvEscape(r.warning)}`;
  out += `,${r.rule_errors ? csvEscape(ruleErrorsCell(r.rule_errors)) : ''}`;
  return `${out},${r.error === '' ? '' : csvEscape(r.error)}\n`;
}

/**
 * One JSON object: the input's columns as read (strings; null where this row's file has no such column),
 * then the results (numbers, booleans) and the model that scored it.
 */
export function jsonRow(
  names: string[],
  cells: readonly (string | undefined)[],
  r: ResultCells,
  shape: RowShape,
  modelVersion: string,
): string {
  let out = '{';
  for (let i = 0; i < names.length; i++) out += `${JSON.stringify(names[i])}:${JSON.stringify(cells[i] ?? null)},`;
  if (shape.withIds) out += `"transaction_id":${r.transaction_id === '' ? 'null' : r.transaction_id},`;
  if (shape.withFile) out += `"file":${JSON.stringify(r.file)},`;
  out += `"line":${r.line}`;
  if (r.error !== '') return `${out},"error":${JSON.stringify(r.error)}}`;
  out += `,"anomaly_score":${r.anomaly_score},"risk_score":${r.risk_score},"risk_level":"${r.risk_level}","is_anomaly":${r.is_anomaly},"confidence":${r.confidence}`;
  out += `,"decision":"${r.decision}","matched_rules":${r.matched_rules ? JSON.stringify(r.matched_rules) : '[]'}`;
  if (r.rule_errors) out += `,"rule_errors":${JSON.stringify(r.rule_errors)}`;
  if (shape.explain && r.shap) {
    out += `,"shap_explanation":{${FEATURES.map((f, j) => `"${f}":${r.shap![j]}`).join(',')}}`;
    out += `,"top_factor":${r.top_factor === '' ? 'null' : `"${r.top_factor}"`}`;
  }
  if (r.warning !== '') out += `,"warning":${JSON.stringify(r.warning)}`;
  return `${out},"model_version":${JSON.stringify(modelVersion)}}`;
}

const TABLE_CELL = 12;

function fit(text: string, width: number, right: boolean): string {
  const t = text.length > width ? `${text.slice(0, width - 1)}…` : text;
  return right ? t.padStart(width) : t.padEnd(width);
}

export function tableHeader(names: string[], shape: RowShape): string {
  const cols = [
    ...(shape.withIds ? [fit('id', 9, true)] : []),
    ...(shape.withFile ? [fit('file', TABLE_CELL, false)] : []),
    fit('line', 7, true),
    ...names.map((c) => fit(c, TABLE_CELL, false)),
    fit('score', 8, true),
    fit('risk', 6, true),
    fit('level', 8, false),
    fit('flag', 4, false),
    fit('decision', 8, false),
  ];
  if (shape.explain) cols.push(fit('top_factor', 17, false));
  return `${cols.join(' ')}  error\n`;
}

const RED = '\u001b[31m';
const DIM = '\u001b[2m';
const RESET = '\u001b[0m';

export function tableRow(
  cells: readonly (string | undefined)[],
  inputCount: number,
  r: ResultCells,
  shape: RowShape,
  color: boolean,
): string {
  const cols = [
    ...(shape.withIds ? [fit(r.transaction_id, 9, true)] : []),
    ...(shape.withFile ? [fit(r.file, TABLE_CELL, false)] : []),
    fit(String(r.line), 7, true),
  ];
  for (let i = 0; i < inputCount; i++) cols.push(fit(cells[i] ?? '', TABLE_CELL, false));
  cols.push(
    fit(r.anomaly_score, 8, true),
    fit(r.risk_score, 6, true),
    fit(r.risk_level, 8, false),
    fit(r.is_anomaly ? 'YES' : r.is_anomaly === null ? '' : 'no', 4, false),
    fit(r.decision, 8, false),
  );
  if (shape.explain) cols.push(fit(r.top_factor, 17, false));
  const note = r.error || (r.warning && `warning: ${r.warning}`) || (r.rule_errors && ruleErrorsCell(r.rule_errors));
  const text = `${cols.join(' ')}  ${note || ''}`.trimEnd();
  if (!color) return `${text}\n`;
  if (r.error !== '') return `${DIM}${text}${RESET}\n`;
  return r.is_anomaly ? `${RED}${text}${RESET}\n` : `${text}\n`;
}
