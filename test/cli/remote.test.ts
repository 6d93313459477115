/** --remote: score, feedback and transactions through a real daemon process, with the same output as local mode. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, csvTable, fixture, EXAMPLE_FLAGS } from './run-cli.js';
import { spawnDaemon, type DaemonProcess } from './daemon-process.js';
import { createKey, tempDb } from '../daemon/server-helpers.js';

let daemon: DaemonProcess;
let dbPath: string;
let keys: Record<string, string>;
beforeAll(async () => {
  dbPath = tempDb();
  keys = { analyst: await createKey(dbPath, 'analyst'), scorer: await createKey(dbPath, 'scorer') };
  daemon = await spawnDaemon(['--db', dbPath]);
});
afterAll(() => daemon.stop());

const remote = (role = 'analyst') => ({ SECUREFLOW_REMOTE: daemon.url, SECUREFLOW_API_KEY: keys[role] });
const withoutIds = (rows: Record<string, string>[]) => rows.map(({ transaction_id: _id, ...rest }) => rest);

describe('score --remote', () => {
  it('scores one transaction like local mode, and stores it on the daemon', async () => {
    const args = ['score', ...EXAMPLE_FLAGS, '--format', 'json'];
    const r = cli(args, { env: remote() });
    expect(r.code, r.stderr).toBe(0);
    const local = cli([...args, '--no-store']);
    const a = JSON.parse(r.stdout);
    const b = JSON.parse(local.stdout);
    for (const f of [
      'is_anomaly',
      'anomaly_score',
      'risk_score',
      'risk_level',
      'confidence',
      'shap_explanation',
      'risk_factors',
      'model_version',
      'transaction',
    ])
      expect(a[f], f).toEqual(b[f]);
    expect(a.transaction_id).toBeGreaterThan(0);
    const shown = cli([
      'transactions',
      'show',
      String(a.transaction_id),
      '--format',
      'json',
      '--remote',
      daemon.url,
      '--api-key',
      keys.analyst,
    ]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout).anomaly_score).toBe(a.anomaly_score);
  });

  it('scores CSV files to the same rows as local mode, ids from the daemon', async () => {
    for (const file of ['transactions.csv', 'bad-rows.csv', 'legacy.csv', 'quoted.csv']) {
      const r = cli(['score', fixture(file), '--format', 'csv', '--explain'], { env: remote() });
      const local = cli(['score', fixture(file), '--format', 'csv', '--explain']);
      expect(r.code, `${file}: ${r.stderr}`).toBe(local.code);
      const rows = csvTable(r.stdout);
      expect(withoutIds(rows), file).toEqual(withoutIds(csvTable(local.stdout)));
      for (const row of rows) if (row.error === '') expect(Number(row.transaction_id)).toBeGreaterThan(0);
    }
  });

  it('honours --no-store, --strict and the CI gates', async () => {
    const before = JSON.parse(
      cli(['transactions', 'list', '--format', 'json', '--limit', '1'], { env: remote() }).stdout,
    ).total;
    const r = cli(['score', fixture('transactions.csv'), '--no-store', '--format', 'csv', '--fail-on-anomaly'], {
      env: remote('scorer'),
    });
    expect(r.code).toBe(10);
    expect(csvTable(r.stdout)[0]).not.toHaveProperty('transaction_id');
    expect(
      JSON.parse(cli(['transactions', 'list', '--format', 'json', '--limit', '1'], { env: remote() }).stdout).total,
    ).toBe(before);
    const strict = cli(['score', fixture('bad-rows.csv'), '--strict', '--format', 'csv'], { env: remote() });
    const localStrict = cli(['score', fixture('bad-rows.csv'), '--strict', '--format', 'csv', '--no-store']);
    expect(strict.code).toBe(3);
    expect(strict.stderr).toContain('line 3');
    expect(withoutIds(csvTable(strict.stdout))).toEqual(csvTable(localStrict.stdout));
  });

  it('exits 7 with the reason for a missing or wrong key or a role that may not, and 6 when no daemon answers', async () => {
    const none = cli(['score', '--amount', '1', '--hour', '1', '--day-of-week', '1', '--merchant-category', '1'], {
      env: { SECUREFLOW_REMOTE: daemon.url },
    });
    expect(none.code).toBe(7);
    expect(none.stderr).toMatch(/API key.*SECUREFLOW_API_KEY/);
    const scorer = cli(['transactions', 'list'], { env: remote('scorer') });
    expect(scorer.code).toBe(7);
    expect(scorer.stderr).toMatch(/scorer role may not read/);
    expect(scorer.stderr).not.toContain(keys.scorer);
    const gone = cli(['transactions', 'list', '--remote', 'http://127.0.0.1:9'], {
      env: { SECUREFLOW_API_KEY: keys.analyst },
    });
    expect(gone.code).toBe(6);
    expect(gone.stderr).toMatch(/cannot reach the daemon/);
    expect(cli(['score', '--remote', 'http://x', '--model', 'm.json', '--amount', '1']).code).toBe(2);
  });
});

describe('feedback and transactions --remote', () => {
  it('records feedback, updates it, and shows it, as local mode prints it', async () => {
    const scored = JSON.parse(
      cli(
        [
          'score',
          '--amount',
          '10',
          '--hour',
          '12',
          '--day-of-week',
          '1',
          '--merchant-category',
          '2',
          '--format',
          'json',
        ],
        { env: remote() },
      ).stdout,
    );
    const id = String(scored.transaction_id);
    const first = cli(['feedback', id, '--correct', '--notes', 'checked'], { env: remote() });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/"is_correct":true/);
    const second = cli(['feedback', id, '--incorrect', '--format', 'text'], { env: remote() });
    expect(second.stdout).toMatch(/^updated: transaction \d+ marked incorrect/);
    const shown = JSON.parse(cli(['transactions', 'show', id, '--format', 'json'], { env: remote() }).stdout);
    expect(shown.feedback).toMatchObject({ is_correct: false });
    const text = cli(['transactions', 'show', id, '--format', 'text'], { env: remote() });
    expect(text.stdout).toMatch(/Feedback: incorrect/);
    expect(text.stdout).toMatch(/Shapley values/);
    const third = JSON.parse(cli(['feedback', id, '--correct', '--format', 'json'], { env: remote() }).stdout);
    expect(third.previous).toMatchObject({ is_correct: false, notes: null }); // the verdict it replaced
    const unknown = cli(['feedback', '999999', '--correct'], { env: remote() });
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toMatch(/999999 not found/);
  });

  it('lists like local mode: the same rows and columns from the same database', async () => {
    const viaDaemon = JSON.parse(
      cli(['transactions', 'list', '--format', 'json', '--limit', '5', '--offset', '1', '--anomalies'], {
        env: remote(),
      }).stdout,
    );
    const local = JSON.parse(
      cli(['transactions', 'list', '--format', 'json', '--limit', '5', '--offset', '1', '--anomalies', '--db', dbPath])
        .stdout,
    );
    expect(viaDaemon).toEqual(local);
    expect(viaDaemon.transactions.length).toBeGreaterThan(0);
    const csv = cli(['transactions', 'list', '--format', 'csv', '--since', '1h'], { env: remote() });
    expect(csv.stdout).toEqual(
      cli(['transactions', 'list', '--format', 'csv', '--since', '1h', '--db', dbPath]).stdout,
    );
  });
});
