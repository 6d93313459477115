import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { NewTransaction, TransactionRows } from '../store.js';
import {
  checkTransaction,
  decisionToCode,
  explanationText,
  HourTally,
  matchedRulesText,
  TRANSACTION_COLUMNS,
  type HourSums,
} from '../shared.js';

/**
 * Bulk inserts (a CLI chunk: tens of thousands of rows) go through COPY: one byte stream instead of one array
 * parameter per column (which pg builds as huge strings, and the server parses as literals). 1M rows took 31 s and
 * 478 MB this way before, against 5 s for scoring alone. The ids are reserved from the table's sequence first
 * (in increasing order, so they follow the input as an INSERT's would), then the rows are copied with them.
 *
 * COPY's binary format, not its text: numbers go as their IEEE/two's-complement bytes (exact, no printing on this
 * side and no parsing on the server's), the texts repeated on every row (level, model, source, batch) are encoded
 * once per chunk, and rows are written into one reused buffer: the text format's per-row strings were most of this
 * thread's garbage (1M rows peaked ~70 MB higher).
 */
export const COPY_MIN_ROWS = 2_000;

// Every column but the two COPY writes itself (id, reserved first; created_at, one for the whole insert), in the
// order writeRow() writes them (a mismatch fails the round trip in test/cli/copy-postgres.test.ts).
const COLUMNS = TRANSACTION_COLUMNS.slice(1, -1);
const COPY = `COPY transactions (id, ${COLUMNS.join(', ')}, created_at) FROM STDIN WITH (FORMAT binary)`;
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Microseconds from the Unix epoch to Postgres's (2000-01-01). */
const PG_EPOCH_MS = 946_684_800_000;
const FIELDS = COLUMNS.length + 2;

// The sequence is named as a literal: Postgres resolves a constant's regclass once, where pg_get_serial_sequence()
// in the select list ran for every reserved id (1M ids: 3.5 s of server CPU against 0.4 s). The answer is the first
// id alone when the ids are consecutive (no other session took one meanwhile: the usual case), else all of them:
// a row per id was 37k small arrays per chunk for this process to parse and collect.
const reserveSql = (sequence: string) => `
  WITH r AS MATERIALIZED (SELECT nextval('${sequence.replaceAll("'", "''")}') AS id FROM generate_series(1, $1::int4))
  SELECT min(id)::text AS first,
         CASE WHEN max(id) - min(id) + 1 = count(*) THEN NULL ELSE array_agg(id ORDER BY id)::text[] END AS ids
  FROM r`;
const SEQUENCE = "SELECT pg_get_serial_sequence('transactions', 'id') AS name";

/** The transactions table's id sequence, schema-qualified (looked up once per store). */
export async function idSequence(c: pg.PoolClient): Promise<string> {
  return (await c.query(SEQUENCE)).rows[0].name as string;
}

/** Appends COPY binary tuples to a growing buffer, flushed in pieces of about FLUSH bytes. */
class TupleWriter {
  private buf = Buffer.allocUnsafe(256 * 1024);
  private at = 0;

  get length(): number {
    return this.at;
  }
  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }
  /** The bytes so far (a copy: the buffer is reused), and a fresh start. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.at));
    this.at = 0;
    return out;
  }
  raw(bytes: Buffer): void {
    this.room(bytes.length);
    this.at += bytes.copy(this.buf, this.at);
  }
  int16(v: number): void {
    this.room(2);
    this.at = this.buf.writeInt16BE(v, this.at);
  }
  int32(v: number): void {
    this.room(4);
    this.at = this.buf.writeInt32BE(v, this.at);
  }
  /** A bigint field (ids; timestamps in microseconds): safe integers only, written as two 32-bit halves. */
  int64Field(v: number): void {
    this.room(12);
    this.at = this.buf.writeInt32BE(8, this.at);
    this.at = this.buf.writeInt32BE(Math.floor(v / 2 ** 32), this.at);
    this.at = this.buf.writeUInt32BE(v >>> 0, this.at);
  }
  int16Field(v: number): void {
    this.room(6);
    this.at = this.buf.writeInt32BE(2, this.at);
    this.at = this.buf.writeInt16BE(v, this.at);
  }
  int32Field(v: number): void {
    this.room(8);
    this.at = this.buf.writeInt32BE(4, this.at);
    this.at = this.buf.writeInt32BE(v, this.at);
  }
  float64Field(v: number): void {
    this.room(12);
    this.at = this.buf.writeInt32BE(8, this.at);
    this.at = this.buf.writeDoubleBE(v, this.at);
  }
  boolField(v: boolean): void {
    this.room(5);
    this.at = this.buf.writeInt32BE(1, this.at);
    this.buf[this.at++] = v ? 1 : 0;
  }
  /** A text (or, with `prefix` 1, a jsonb: its version byte, then the JSON text) field; NULL for null. */
  textField(v: string | null, prefix?: number): void {
    if (v === null) {
      this.int32(-1);
      return;
    }
    const max = Buffer.byteLength(v) + 5;
    this.room(max);
    const start = this.at;
    this.at += 4;
    if (prefix !== undefined) this.buf[this.at++] = prefix;
    this.at += this.buf.write(v, this.at, 'utf8');
    this.buf.writeInt32BE(this.at - start - 4, start);
  }
  /** A text field whose bytes (length word included) were encoded once. */
  encodedField(field: Buffer): void {
    this.raw(field);
  }
}

/** A text value as a whole binary field (length word and UTF-8 bytes), or the NULL field. */
function encodedText(v: string | null): Buffer {
  if (v === null) return Buffer.from([0xff, 0xff, 0xff, 0xff]);
  const bytes = Buffer.from(v, 'utf8');
  const out = Buffer.allocUnsafe(4 + bytes.length);
  out.writeInt32BE(bytes.length, 0);
  bytes.copy(out, 4);
  return out;
}

/** The same text on many rows (level, model, source, batch): encoded once each. */
class TextCache {
  private readonly cache = new Map<string | null, Buffer>();
  get(v: string | null): Buffer {
    let b = this.cache.get(v);
    if (!b) {
      b = encodedText(v);
      this.cache.set(v, b);
    }
    return b;
  }
}

function writeRow(w: TupleWriter, texts: TextCache, r: NewTransaction, id: number, createdUs: number): void {
  w.int16(FIELDS);
  w.int64Field(id);
  w.textField(r.reference);
  w.float64Field(r.amount);
  w.int32Field(r.hour);
  w.int32Field(r.day_of_week);
  w.int32Field(r.merchant_category);
  w.int32Field(r.transaction_type);
  w.boolField(r.is_fraudulent);
  w.float64Field(r.anomaly_score);
  w.float64Field(r.risk_score);
  w.encodedField(texts.get(r.risk_level));
  w.float64Field(r.confidence);
  w.textField(explanationText(r), 1);
  w.encodedField(texts.get(r.model_version));
  w.encodedField(texts.get(r.source));
  w.encodedField(texts.get(r.batch_id));
  w.int16Field(decisionToCode(r.decision));
  w.textField(matchedRulesText(r.matched_rules));
  w.int64Field(createdUs);
}

/**
 * Inside the caller's transaction: reserves ids, copies the rows with them (each checked as it goes: a bad row
 * aborts the COPY and the caller's transaction stores nothing); returns the ids in input order and the hour sums.
 */
export async function copyInsert(
  c: pg.PoolClient,
  rows: TransactionRows,
  createdAt: string,
  sequence: string,
): Promise<{ ids: number[]; hours: HourSums[] }> {
  const reserved = (await c.query(reserveSql(sequence), [rows.length])).rows[0] as {
    first: string;
    ids: string[] | null;
  };
  const first = Number(reserved.first);
  const ids = reserved.ids ? reserved.ids.map(Number) : Array.from({ length: rows.length }, (_, i) => first + i);
  const hours = new HourTally();
  const createdUs = (Date.parse(createdAt) - PG_EPOCH_MS) * 1000;
  async function* bytes(): AsyncGenerator<Buffer> {
    const FLUSH = 128 * 1024; // per write: few stream calls, never the whole chunk in one piece
    const w = new TupleWriter();
    const texts = new TextCache();
    w.raw(SIGNATURE);
    w.int32(0); // flags
    w.int32(0); // header extension length
    // Rows still being made (TransactionRows.ready) are copied as they come: the server inserts the first ones while
    // the rest are scored, and what is written so far goes out before each wait.
    let available = rows.ready ? 0 : rows.length;
    for (let i = 0; i < rows.length; i++) {
      if (i >= available) {
        if (w.length > 0) yield w.take();
        available = await rows.ready!(i + 1);
      }
      const r = rows.at(i)!;
      checkTransaction(r, i, rows.length);
      hours.add(r);
      writeRow(w, texts, r, ids[i], createdUs);
      if (w.length >= FLUSH) yield w.take();
    }
    w.int16(-1); // trailer
    yield w.take();
  }
  await pipeline(Readable.from(bytes()), c.query(copyFrom(COPY)));
  return { ids, hours: hours.sums() };
}
