import { SecureflowError } from '../../core/errors.js';
import { storedResult } from '../../core/stored-result.js';
import type { Feedback } from '../../db/store.js';
import { RemoteClient, remoteTarget } from '../remote-client.js';
import { remoteList, remoteShow } from '../remote-api.js';
import { withStore } from '../database.js';
import { formatResultText } from '../format-result.js';
import { renderCsv, renderTable } from '../table.js';
import { parseSince, parseTransactionId } from '../arguments.js';
import { colorEnabled, painter } from '../terminal.js';
import { resolveFormat, type IOStreams } from '../io.js';

export interface ListOptions {
  anomalies?: boolean;
  since?: string;
  batch?: string;
  limit: number;
  offset: number;
  db?: string;
  remote?: string;
  apiKey?: string;
  format?: 'table' | 'json' | 'csv';
}

export interface ShowOptions {
  db?: string;
  remote?: string;
  apiKey?: string;
  format?: 'text' | 'json';
}

const COLUMNS = [
  'id',
  'created_at',
  'amount',
  'hour',
  'day_of_week',
  'merchant_category',
  'transaction_type',
  'anomaly_score',
  'risk_score',
  'risk_level',
  'is_fraudulent',
  'reference',
  'batch_id',
] as const;

export async function runTransactionsList(opts: ListOptions, io: IOStreams): Promise<void> {
  let since: Date | undefined;
  if (opts.since !== undefined) {
    since = parseSince(opts.since) ?? undefined;
    if (!since)
      throw new SecureflowError(
        'usage',
        `--since must be like 7d, 24h, 30m or an ISO-8601 date (years 1 to 9999), got ${JSON.stringify(opts.since)}`,
      );
  }
  const query = { anomaliesOnly: opts.anomalies, since, batchId: opts.batch, limit: opts.limit, offset: opts.offset };
  const remote = remoteTarget(opts);
  const list = remote
    ? () => remoteList(new RemoteClient(remote.url, remote.apiKey), query)
    : () => withStore(opts.db, (store) => store.listTransactions(query), { mustExist: true });
  {
    const { rows, total } = await list();
    const format = resolveFormat(opts.format, io, 'table', 'json');
    if (format === 'json') {
      io.stdout.write(`${JSON.stringify({ transactions: rows, total, limit: opts.limit, offset: opts.offset })}\n`);
      return;
    }
    const data = rows.map((r) => COLUMNS.map((c) => r[c] as string | number | boolean | null));
    if (format === 'csv') io.stdout.write(renderCsv([...COLUMNS], data));
    else {
      io.stdout.write(renderTable([...COLUMNS], data));
      io.stderr.write(
        `${rows.length} of ${total} transaction${total === 1 ? '' : 's'}${total > rows.length ? ' (use --limit/--offset for more)' : ''}\n`,
      );
    }
  }
}

export async function runTransactionsShow(idText: string, opts: ShowOptions, io: IOStreams): Promise<void> {
  const id = parseTransactionId(idText);
  const remote = remoteTarget(opts);
  const { row, result, history } = remote
    ? await remoteShow(new RemoteClient(remote.url, remote.apiKey), id)
    : await withStore(
        opts.db,
        async (store) => {
          const row = await store.getTransaction(id);
          if (!row) throw new SecureflowError('not_found', `transaction ${id} not found`);
          const history = row.feedback ? await store.feedbackHistory(id) : [];
          return { row, result: await storedResult(store, row), history };
        },
        { mustExist: true },
      );
  if (resolveFormat(opts.format, io, 'text', 'json') === 'json') {
    io.stdout.write(
      `${JSON.stringify({ ...result, created_at: row.created_at, batch_id: row.batch_id, feedback: row.feedback, feedback_history: history }, null, 2)}\n`,
    );
    return;
  }
  io.stdout.write(
    `transaction ${row.id} · ${row.created_at} · ${row.source}${row.batch_id ? ` · batch ${row.batch_id}` : ''}\n`,
  );
  io.stdout.write(formatResultText(result, painter(colorEnabled(io.stdout))));
  io.stdout.write(`\n${describeFeedback(row.feedback)}\n`);
  // Earlier verdicts, newest first under the current one: a verdict is replaced, never lost.
  for (const h of [...history].reverse())
    io.stdout.write(
      `  before: ${h.is_correct ? 'correct' : 'incorrect'}${h.notes ? ` — ${h.notes}` : ''} (${h.recorded_at}${h.recorded_by ? ` by ${h.recorded_by}` : ''}, replaced ${h.replaced_at})\n`,
    );
}

function describeFeedback(f: Feedback | null): string {
  if (!f) return 'Feedback: none yet (secureflow feedback ID --correct|--incorrect)';
  return `Feedback: ${f.is_correct ? 'correct' : 'incorrect'}${f.notes ? ` — ${f.notes}` : ''} (${f.updated_at}${f.recorded_by ? ` by ${f.recorded_by}` : ''})`;
}
