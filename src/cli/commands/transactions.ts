import { SecureflowError } from '../../core/errors.js';
import { readModelText } from '../../core/model-source.js';
import { round, type ScoreResult } from '../../core/score-transaction.js';
import type { Feedback, Store, StoredTransaction } from '../../db/store.js';
import { parseModel } from '../../model/model-file.js';
import { IsolationForestModel } from '../../model/model.js';
import type { RiskLevel } from '../../model/explain.js';
import { withStore } from '../database.js';
import { formatResultText } from '../format-result.js';
import { renderCsv, renderTable, parseSince } from '../table.js';
import { colorEnabled, painter } from '../terminal.js';
import { parseTransactionId } from './feedback.js';

export interface ListOptions {
  anomalies?: boolean;
  since?: string;
  batch?: string;
  limit: number;
  offset: number;
  db?: string;
  format?: 'table' | 'json' | 'csv';
}

const COLUMNS = ['id', 'created_at', 'amount', 'hour', 'day_of_week', 'merchant_category', 'transaction_type', 'anomaly_score', 'risk_score', 'risk_level', 'is_fraudulent', 'reference', 'batch_id'] as const;

export async function runTransactionsList(opts: ListOptions): Promise<void> {
  let since: Date | undefined;
  if (opts.since !== undefined) {
    since = parseSince(opts.since) ?? undefined;
    if (!since) throw new SecureflowError('usage', `--since must be like 7d, 24h, 30m or an ISO date, got ${JSON.stringify(opts.since)}`);
  }
  await withStore(opts.db, async (store) => {
    const { rows, total } = await store.listTransactions({ anomaliesOnly: opts.anomalies, since, batchId: opts.batch, limit: opts.limit, offset: opts.offset });
    const format = opts.format ?? (process.stdout.isTTY ? 'table' : 'json');
    if (format === 'json') {
      process.stdout.write(`${JSON.stringify({ transactions: rows, total, limit: opts.limit, offset: opts.offset })}\n`);
      return;
    }
    const data = rows.map((r) => COLUMNS.map((c) => r[c] as string | number | boolean | null));
    if (format === 'csv') process.stdout.write(renderCsv([...COLUMNS], data));
    else {
      process.stdout.write(renderTable([...COLUMNS], data));
      process.stderr.write(`${rows.length} of ${total} transaction${total === 1 ? '' : 's'}${total > rows.length ? ' (use --limit/--offset for more)' : ''}\n`);
    }
  });
}

export async function runTransactionsShow(idText: string, opts: { db?: string; format?: 'text' | 'json' }): Promise<void> {
  const id = parseTransactionId(idText);
  await withStore(opts.db, async (store) => {
    const row = await store.getTransaction(id);
    if (!row) throw new SecureflowError('not_found', `transaction ${id} not found`);
    const result = await explained(store, row);
    if ((opts.format ?? (process.stdout.isTTY ? 'text' : 'json')) === 'json') {
      process.stdout.write(`${JSON.stringify({ ...result, created_at: row.created_at, batch_id: row.batch_id, feedback: row.feedback }, null, 2)}\n`);
      return;
    }
    process.stdout.write(`transaction ${row.id} · ${row.created_at} · ${row.source}${row.batch_id ? ` · batch ${row.batch_id}` : ''}\n`);
    process.stdout.write(formatResultText(result, painter(colorEnabled(process.stdout))));
    process.stdout.write(`\n${describeFeedback(row.feedback)}\n`);
  });
}

function describeFeedback(f: Feedback | null): string {
  if (!f) return 'Feedback: none yet (secureflow feedback ID --correct|--incorrect)';
  return `Feedback: ${f.is_correct ? 'correct' : 'incorrect'}${f.notes ? ` — ${f.notes}` : ''} (${f.updated_at})`;
}

/** The stored row as a score result; its explanation is the stored one, else recomputed with its model when available. */
async function explained(store: Store, row: StoredTransaction): Promise<ScoreResult> {
  const transaction = {
    amount: row.amount, hour: row.hour, day_of_week: row.day_of_week, merchant_category: row.merchant_category, transaction_type: row.transaction_type,
  };
  const stored = (row.explanation ?? {}) as Partial<Pick<ScoreResult, 'shap_explanation' | 'shap_base_value' | 'risk_factors'>>;
  let { shap_explanation, shap_base_value, risk_factors } = stored;
  if (!shap_explanation || !risk_factors) {
    const model = await modelFor(store, row.model_version);
    if (model) {
      const e = model.explain(Object.values(transaction));
      shap_explanation = Object.fromEntries(Object.entries(e.shap).map(([k, v]) => [k, round(v, 6)]));
      shap_base_value = round(e.base, 6);
      risk_factors = e.riskFactors.map((f) => ({ ...f, contribution: round(f.contribution, 6) }));
    }
  }
  return {
    transaction_id: row.id,
    reference: row.reference,
    is_anomaly: row.is_fraudulent,
    is_fraudulent: row.is_fraudulent,
    anomaly_score: row.anomaly_score,
    risk_score: row.risk_score,
    risk_level: row.risk_level as RiskLevel,
    confidence: row.confidence,
    shap_explanation: shap_explanation ?? {},
    shap_base_value: shap_base_value ?? 0,
    risk_factors: risk_factors ?? [],
    transaction,
    data_source: row.source,
    model_version: row.model_version,
    timestamp: row.created_at,
  };
}

async function modelFor(store: Store, version: string): Promise<IsolationForestModel | null> {
  const bundled = readModelText();
  if (bundled.doc.id === version) return new IsolationForestModel(bundled.doc);
  const registered = await store.getModel(version);
  return registered ? new IsolationForestModel(parseModel(registered.model)) : null;
}
