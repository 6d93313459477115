import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { NewTransaction, TransactionRows } from '../store.js';
import { checkTransaction, HourTally, jsonOrNull, TRANSACTION_COLUMNS, type HourSums } from '../shared.js';

/**
 * Bulk inserts (a CLI chunk: tens of thousands of rows) go through COPY: one text stream instead of one array
 * parameter per column (which pg builds as huge strings, and the server parses as literals). 1M rows took 31 s and
 * 478 MB this way before, against 5 s for scoring alone. The ids are reserved from the table's sequence first
 * (in increasing order, so they follow the input as an INSERT's would), then the rows are copied with them.
 */
export const COPY_MIN_ROWS = 2_000;

// Every column but the two COPY writes itself (id, reserved first; created_at, one for the whole insert), in the
// order line() writes them.
const COLUMNS = TRANSACTION_COLUMNS.slice(1, -1);

const RESERVE = "SELECT nextval(pg_get_serial_sequence('transactions', 'id')) FROM generate_series(1, $1::int4)";
const COPY = `COPY transactions (id, ${COLUMNS.join(', ')}, created_at) FROM STDIN`;

/** COPY's text format: backslash escapes for the characters it reads specially; \N is NULL. */
function field(value: string | null): string {
  if (value === null) return '\\N';
  return /[\\\t\n\r]/.test(value)
    ? value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'))
    : value;
}

function line(r: NewTransaction, id: number, createdAt: string): string {
  // Numbers print in JS's shortest round-trip form, which float8 reads back exactly.
  return `${id}\t${field(r.reference)}\t${r.amount}\t${r.hour}\t${r.day_of_week}\t${r.merchant_category}\t${r.transaction_type}\t${r.is_fraudulent ? 't' : 'f'}\t${r.anomaly_score}\t${r.risk_score}\t${field(r.risk_level)}\t${r.confidence}\t${field(jsonOrNull(r.explanation))}\t${field(r.model_version)}\t${field(r.source)}\t${field(r.batch_id)}\t${createdAt}\n`;
}

/**
 * Inside the caller's transaction: reserves ids, copies the rows with them (each checked as it goes: a bad row
 * aborts the COPY and the caller's transaction stores nothing); returns the ids in input order and the hour sums.
 */
export async function copyInsert(
  c: pg.PoolClient,
  rows: TransactionRows,
  createdAt: string,
): Promise<{ ids: number[]; hours: HourSums[] }> {
  const reserved = await c.query({ text: RESERVE, values: [rows.length], rowMode: 'array' });
  const ids = reserved.rows.map((r: unknown[]) => Number(r[0])).sort((a, b) => a - b);
  const hours = new HourTally();
  async function* text(): AsyncGenerator<string> {
    const LINES = 1_000; // per write: few stream calls, never the whole chunk as one string
    for (let from = 0; from < rows.length; from += LINES) {
      let s = '';
      for (let i = from; i < Math.min(rows.length, from + LINES); i++) {
        const r = rows.at(i)!;
        checkTransaction(r, i, rows.length);
        hours.add(r);
        s += line(r, ids[i], createdAt);
      }
      yield s;
    }
  }
  await pipeline(Readable.from(text()), c.query(copyFrom(COPY)));
  return { ids, hours: hours.sums() };
}
