/** Real exports through --remote: the delimiter, encoding and column names are handled here, the daemon gets plain CSV. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, csvTable } from './run-cli.js';
import { spawnDaemon, type DaemonProcess } from './daemon-process.js';
import { createKey, tempDb } from '../daemon/server-helpers.js';

let daemon: DaemonProcess;
let key: string;
beforeAll(async () => {
  const db = tempDb();
  key = await createKey(db, 'analyst');
  daemon = await spawnDaemon(['--db', db]);
});
afterAll(() => daemon.stop());

describe('score --remote with a real export', () => {
  it('a tab-separated Windows-1252 file with its own column names scores as locally, ids from the daemon', () => {
    const dir = mkdtempSync(join(tmpdir(), 'secureflow-exports-remote-'));
    const file = join(dir, 'export.tsv');
    const text =
      'Ref\tAMT\tHour\tday_of_week\tMerchant Cat\ttransaction_type\tamount\tnote\n' +
      'R-1\t50.25\t14\t2\t1\t0\t999999\t"Café; ""best"""\n' +
      'R-2\t4800\t3\t6\t9\t2\t999999\tZürich\n' +
      'R-3\tabc\t3\t6\t9\t2\t1\tbad\n';
    writeFileSync(file, Buffer.from(text, 'latin1'));
    const args = [
      'score',
      file,
      '-f',
      'csv',
      '--encoding',
      'latin1',
      '--column',
      'amount=amt',
      '--column',
      'merchant_category=merchant cat',
      '--column',
      'id=Ref',
    ];
    const r = cli([...args, '--remote', daemon.url, '--api-key', key]);
    const local = cli([...args, '--no-store']);
    expect(r.code, r.stderr).toBe(3);
    expect(local.code, local.stderr).toBe(3);
    const rows = csvTable(r.stdout);
    expect(rows.map(({ transaction_id: _id, ...rest }) => rest)).toEqual(csvTable(local.stdout));
    expect(rows.map((x) => x.note)).toEqual(['Café; "best"', 'Zürich', 'bad']);
    expect(rows[2].error).toBe('amount must be a number, got "abc"');
    expect(rows[1].is_anomaly).toBe('true'); // read from AMT, not from the export's own amount column
    const id = rows[1].transaction_id;
    const shown = JSON.parse(
      cli(['transactions', 'show', id, '-f', 'json', '--remote', daemon.url, '--api-key', key]).stdout,
    );
    expect([shown.reference, shown.transaction.amount]).toEqual(['R-2', 4800]);
  });
});
