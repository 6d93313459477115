import { FEATURES } from '../../model/features.js';
import { csvEscape } from './csv-records.js';

export type BatchFormat = 'csv' | 'ndjson' | 'json' | 'table';

/** Result columns appended after the input's own columns. */
export function resultColumns(explain: boolean, withIds: boolean): string[] {
  const cols = [...(withIds ? ['transaction_id'] : []), 'line', 'anomaly_score', 'risk_score', 'risk_level', 'is_anomaly', 'confidence'];
  if (explain) cols.push(...FEATURES.map((f) => `shap_${f}`), 'top_factor');
  cols.push('error');
  return cols;
}

/** The values of one output row's result columns, already as text, in resultColumns() order. */
export interface ResultCells {
  /** The stored row's id; empty when not stored. */
  transaction_id: string;
  line: number;
  anomaly_score: string;
  risk_score: string;
  risk_level: string;
  is_anomaly: boolean | null;
  confidence: string;
  shap: string[] | null;
  top_factor: string;
  error: string;
}

export function csvHeader(inputColumns: string[], explain: boolean, withIds: boolean): string {
  return `${[...inputColumns, ...resultColumns(explain, withIds)].map(csvEscape).join(',')}\n`;
}

export function csvRow(inputText: string, r: ResultCells, explain: boolean, withIds: boolean): string {
  let out = `${inputText},${withIds ? `${r.transaction_id},` : ''}${r.line},${r.anomaly_score},${r.risk_score},${r.risk_level},${r.is_anomaly === null ? '' : r.is_anomaly},${r.confidence}`;
  if (explain) out += `,${r.shap ? r.shap.join(',') : ',,,,'},${r.top_factor}`;
  return `${out},${r.error === '' ? '' : csvEscape(r.error)}\n`;
}

/** One JSON object: the input's columns as read (strings), then the results (numbers, booleans). */
export function jsonRow(inputColumns: string[], cells: string[], r: ResultCells, explain: boolean, withIds: boolean): string {
  let out = '{';
  for (let i = 0; i < inputColumns.length; i++) out += `${JSON.stringify(inputColumns[i])}:${JSON.stringify(cells[i] ?? null)},`;
  if (withIds) out += `"transaction_id":${r.transaction_id === '' ? 'null' : r.transaction_id},`;
  out += `"line":${r.line}`;
  if (r.error !== '') return `${out},"error":${JSON.stringify(r.error)}}`;
  out += `,"anomaly_score":${r.anomaly_score},"risk_score":${r.risk_score},"risk_level":"${r.risk_level}","is_anomaly":${r.is_anomaly},"confidence":${r.confidence}`;
  if (explain && r.shap) {
    out += `,"shap_explanation":{${FEATURES.map((f, j) => `"${f}":${r.shap![j]}`).join(',')}}`;
    out += `,"top_factor":${r.top_factor === '' ? 'null' : `"${r.top_factor}"`}`;
  }
  return `${out}}`;
}

const TABLE_CELL = 12;

function fit(text: string, width: number, right: boolean): string {
  const t = text.length > width ? `${text.slice(0, width - 1)}…` : text;
  return right ? t.padStart(width) : t.padEnd(width);
}

export function tableHeader(inputColumns: string[], explain: boolean, withIds: boolean): string {
  const cols = [...(withIds ? [fit('id', 9, true)] : []), fit('line', 7, true), ...inputColumns.map((c) => fit(c, TABLE_CELL, false)), fit('score', 8, true), fit('risk', 6, true), fit('level', 8, false), fit('flag', 4, false)];
  if (explain) cols.push(fit('top_factor', 17, false));
  return `${cols.join(' ')}  error\n`;
}

const RED = '\u001b[31m';
const DIM = '\u001b[2m';
const RESET = '\u001b[0m';

export function tableRow(cells: string[], inputCount: number, r: ResultCells, explain: boolean, withIds: boolean, color: boolean): string {
  const cols = [...(withIds ? [fit(r.transaction_id, 9, true)] : []), fit(String(r.line), 7, true)];
  for (let i = 0; i < inputCount; i++) cols.push(fit(cells[i] ?? '', TABLE_CELL, false));
  cols.push(fit(r.anomaly_score, 8, true), fit(r.risk_score, 6, true), fit(r.risk_level, 8, false), fit(r.is_anomaly ? 'YES' : r.is_anomaly === null ? '' : 'no', 4, false));
  if (explain) cols.push(fit(r.top_factor, 17, false));
  const text = `${cols.join(' ')}  ${r.error}`.trimEnd();
  if (!color) return `${text}\n`;
  if (r.error !== '') return `${DIM}${text}${RESET}\n`;
  return r.is_anomaly ? `${RED}${text}${RESET}\n` : `${text}\n`;
}
