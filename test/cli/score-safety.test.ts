/**
 * Analysts' files through the built CLI: outputs never destroy inputs or half-write, read-only commands
 * never create a database, one model with or without storing, gates and quiet mode say what was rejected.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cli, fixture, writeRepeatedFixture } from './run-cli.js';

const dir = () => mkdtempSync(join(tmpdir(), 'secureflow-safety-'));
const BAD = 'amount,hour,day_of_week,merchant_category,transaction_type\n5,3,1,2,0\nabc,1,1,1,1\n99999,3,6,9,2\n';

describe('score -o: nothing lost', () => {
  it('refuses an output that is one of the inputs, before touching anything (exit 2)', () => {
    const d = dir();
    const input = join(d, 'in.csv');
    writeFileSync(input, readFileSync(fixture('transactions.csv')));
    const before = readFileSync(input, 'utf8');
    const r = cli(['score', input, '-o', input, '--db', join(d, 'x.db')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `secureflow: -o ${input} is also an input: write the results to another file (nothing was changed)\n`,
    );
    expect(readFileSync(input, 'utf8')).toBe(before);
    expect(existsSync(join(d, 'x.db'))).toBe(false); // refused before the database was opened
    // The same file by another path is the same file.
    expect(cli(['score', input, '-o', join(d, '.', 'in.csv'), '--no-store']).code).toBe(2);
    expect(readFileSync(input, 'utf8')).toBe(before);
  });

  it('names a missing output folder (exit 4), no stack trace', () => {
    const d = dir();
    const r = cli(['score', fixture('transactions.csv'), '-o', join(d, 'missing', 'x.csv'), '--no-store']);
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(
      `secureflow: -o ${join(d, 'missing', 'x.csv')}: the folder ${join(d, 'missing')} does not exist\n`,
    );
  });

  it('writes through a temporary file: a failed run leaves the old output as it was, no leftovers', () => {
    const d = dir();
    const out = join(d, 'out.csv');
    writeFileSync(out, 'previous results\n');
    const failed = cli([
      'score',
      fixture('transactions.csv'),
      '-o',
      out,
      '--no-store',
      '--model',
      join(d, 'nope.json'),
    ]);
    expect(failed.code).toBe(4);
    expect(readFileSync(out, 'utf8')).toBe('previous results\n');
    expect(readdirSync(d)).toEqual(['out.csv']);
    const ok = cli(['score', fixture('transactions.csv'), '-o', out, '--no-store', '-q']);
    expect(ok.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(cli(['score', fixture('transactions.csv'), '--no-store', '-q']).stdout);
    expect(readdirSync(d)).toEqual(['out.csv']);
  });

  it('keeps what a gate or rejected rows describe: the output is whole, then the exit says why', () => {
    const d = dir();
    const out = join(d, 'out.csv');
    const r = cli(['score', fixture('transactions.csv'), '-o', out, '--no-store', '--fail-on-anomaly', '-q']);
    expect(r.code).toBe(10);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(11);
  });
});

describe('read-only commands never create a database', () => {
  it.each([
    [['transactions', 'list']],
    [['transactions', 'show', '1']],
    [['models', 'list']],
    [['models', 'deactivate']],
    [['keys', 'list']],
    [['keys', 'revoke', '1']],
    [['feedback', '1', '--correct']],
    [['dashboard', '--once']],
  ])('%j with a mistyped --db exits 4 naming it, and creates nothing', (args) => {
    const d = dir();
    const db = join(d, 'typo', 'x.db');
    const r = cli([...args, '--db', db]);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain(`no database at ${db}`);
    expect(existsSync(join(d, 'typo'))).toBe(false);
  });
});

describe('one model everywhere', () => {
  it("--no-store scores with the database's active model; models deactivate goes back to the bundled one", () => {
    const d = dir();
    const db = join(d, 'm.db');
    const bundled = JSON.parse(
      cli([
        'score',
        '--amount',
        '10',
        '--hour',
        '3',
        '--day-of-week',
        '1',
        '--merchant-category',
        '2',
        '--transaction-type',
        '0',
        '--no-store',
        '--db',
        db,
        '-f',
        'json',
      ]).stdout,
    ).model_version;
    expect(existsSync(db)).toBe(false); // no database in reach: the bundled model, nothing created
    const trained = cli([
      'train',
      fixture('labelled.csv'),
      '--label-column',
      'label',
      '--out',
      join(d, 'm.json'),
      '--seed',
      '7',
      '--register',
      '--activate',
      '--db',
      db,
      '--format',
      'json',
    ]);
    expect(trained.code, trained.stderr).toBe(0);
    const active = JSON.parse(cli(['models', 'list', '--db', db, '-f', 'json']).stdout).find(
      (m: { active: boolean }) => m.active,
    ).version;
    expect(active).not.toBe(bundled);
    const one = [
      'score',
      '--amount',
      '10',
      '--hour',
      '3',
      '--day-of-week',
      '1',
      '--merchant-category',
      '2',
      '--transaction-type',
      '0',
      '-f',
      'json',
      '--db',
      db,
    ];
    expect(JSON.parse(cli([...one, '--no-store']).stdout).model_version).toBe(active);
    expect(JSON.parse(cli(one).stdout).model_version).toBe(active);
    const summary = join(d, 's.json');
    expect(
      cli(['score', fixture('transactions.csv'), '--no-store', '--db', db, '-q', '--summary-json', summary]).code,
    ).toBe(0);
    expect(JSON.parse(readFileSync(summary, 'utf8')).model_version).toBe(active);

    const off = cli(['models', 'deactivate', '--db', db, '-f', 'table']);
    expect(off.stdout).toBe(
      `model ${active} is no longer active: secureflow score uses the bundled model ${bundled}\n`,
    );
    expect(JSON.parse(cli([...one, '--no-store']).stdout).model_version).toBe(bundled);
    expect(cli(['models', 'list', '--db', db, '-f', 'table']).stdout).toMatch(new RegExp(`-\\s+${bundled}\\s+\\*`));
    expect(JSON.parse(cli(['models', 'show', bundled, '--db', db, '-f', 'json']).stdout)).toEqual({
      id: null,
      version: bundled,
      bundled: true,
      active: true,
    });
    // Activating a registered model and then the bundled one by its id works too.
    expect(cli(['models', 'activate', active, '--db', db]).code).toBe(0);
    expect(cli(['models', 'activate', bundled, '--db', db, '-f', 'table']).stdout).toBe(
      `the bundled model ${bundled} is now active: secureflow score uses it\n`,
    );
    expect(JSON.parse(cli([...one, '--no-store']).stdout).model_version).toBe(bundled);
  });
});

describe('gates, quiet mode and --summary-json', () => {
  it('rejected rows make the exit 3 whatever gate fires; -q still says how many were rejected', () => {
    const d = dir();
    const input = join(d, 'bad.csv');
    writeFileSync(input, BAD);
    const quiet = cli(['score', input, '--no-store', '-q']);
    expect(quiet.code).toBe(3);
    expect(quiet.stderr).toBe('secureflow: 1 row rejected (see the error column)\n');
    const gated = cli(['score', input, '--no-store', '-q', '--fail-on-anomaly']);
    expect(gated.code).toBe(3);
    expect(gated.stderr).toBe(
      'secureflow: 2 transactions flagged (--fail-on-anomaly)\nsecureflow: 1 row rejected (see the error column)\n',
    );
  });

  it('--summary-json gives CI the counts, the model and the gate result', () => {
    const d = dir();
    const input = join(d, 'bad.csv');
    writeFileSync(input, BAD);
    const path = join(d, 'summary.json');
    expect(cli(['score', input, '--no-store', '-q', '--max-anomaly-rate', '10%', '--summary-json', path]).code).toBe(3);
    const s = JSON.parse(readFileSync(path, 'utf8'));
    expect(s).toMatchObject({
      rows: 3,
      scored: 2,
      flagged: 2,
      rejected: 1,
      stored: 0,
      batch_id: null,
      interrupted: false,
      exit_code: 3,
      gate: {
        fail_on_anomaly: false,
        max_anomaly_rate: 0.1,
        passed: false,
        reason: 'anomaly rate 100.00% exceeds --max-anomaly-rate 10.00%',
      },
    });
    expect(s.model_version).toMatch(/^[0-9a-f]{16}$/);
    expect(
      cli(['score', fixture('transactions.csv'), '--db', join(d, 'db.sqlite'), '-q', '--summary-json', path]).code,
    ).toBe(0);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({
      rows: 10,
      scored: 10,
      flagged: 4,
      rejected: 0,
      stored: 10,
      exit_code: 0,
      gate: { passed: true, reason: null },
    });
    expect(JSON.parse(readFileSync(path, 'utf8')).batch_id).toMatch(/\S/);
  });
});

describe('smaller items', () => {
  it('train takes --contamination 5% like --max-anomaly-rate; label columns match whatever their case', () => {
    const d = dir();
    const a = cli([
      'train',
      fixture('labelled.csv'),
      '--label-column',
      'label',
      '--out',
      join(d, 'a.json'),
      '--contamination',
      '5%',
    ]);
    const b = cli([
      'train',
      fixture('labelled.csv'),
      '--label-column',
      'label',
      '--out',
      join(d, 'b.json'),
      '--contamination',
      '0.05',
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code).toBe(0);
    expect(readFileSync(join(d, 'a.json'), 'utf8')).toBe(readFileSync(join(d, 'b.json'), 'utf8'));
    const upper = cli([
      'evaluate',
      fixture('labelled.csv'),
      '--label-column',
      ' LABEL',
      '--model',
      join(d, 'a.json'),
      '--format',
      'json',
    ]);
    expect(upper.code, upper.stderr).toBe(0);
    expect(JSON.parse(upper.stdout)).toEqual(
      JSON.parse(
        cli([
          'evaluate',
          fixture('labelled.csv'),
          '--label-column',
          'label',
          '--model',
          join(d, 'a.json'),
          '--format',
          'json',
        ]).stdout,
      ),
    );
  });

  it('many workers piped into head: exit 141, no MaxListenersExceeded warning', () => {
    const d = dir();
    const big = join(d, 'big.csv');
    writeRepeatedFixture('transactions.csv', 30_000, big);
    const r = spawnSync(
      'bash',
      [
        '-c',
        `"${process.execPath}" "${BIN}" score "${big}" --no-store --workers 12 | head -n 2 >/dev/null; echo "status \${PIPESTATUS[0]}"`,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stdout).toBe('status 141\n');
    expect(r.stderr).toBe('');
  }, 60_000);

  it.each([['feedback'], ['migrate'], ['keys', 'list'], ['keys', 'revoke'], ['models', 'list'], ['models', 'show']])(
    '%s --help says what the command does',
    (...args) => {
      const help = cli([...args, '--help']).stdout.split('\n');
      expect(help[0]).toMatch(/^Usage: secureflow /);
      expect(help[1]).toBe('');
      expect(help[2]).toMatch(/^[A-Z][a-z]+ .+/);
    },
  );
});

describe('nothing misread: line endings and byte order marks', () => {
  const lf = readFileSync(fixture('transactions.csv'), 'utf8');
  const expected = cli(['score', fixture('transactions.csv'), '--no-store', '-q', '-f', 'ndjson']).stdout;
  it.each([
    ['CRLF', lf.replaceAll('\n', '\r\n')],
    ['CR only (old Mac)', lf.replaceAll('\n', '\r')],
    ['no final newline', lf.trimEnd()],
    ['CR only, no final newline', lf.trimEnd().replaceAll('\n', '\r')],
    ['a UTF-8 byte order mark', `\uFEFF${lf}`],
    ['BOM and CRLF', `\uFEFF${lf.replaceAll('\n', '\r\n')}`],
  ])('%s: the same rows, scores and line numbers as the LF file', (_name, text) => {
    const d = dir();
    const path = join(d, 'in.csv');
    writeFileSync(path, text);
    for (const flags of [[], ['--strict'], ['--fail-on-anomaly']]) {
      const r = cli(['score', path, '--no-store', '-q', '-f', 'ndjson', ...flags]);
      expect(r.stdout).toBe(expected);
      expect(r.code).toBe(flags[0] === '--fail-on-anomaly' ? 10 : 0);
    }
    // Through worker threads and small chunks too: a large file in the same shape.
    const big = join(d, 'big.csv');
    const [header, ...rows] = text
      .replace(/^\uFEFF/, '')
      .split(/\r\n|\r|\n/)
      .filter((l) => l !== '');
    const eol = text.includes('\r\n') ? '\r\n' : text.includes('\r') ? '\r' : '\n';
    writeFileSync(
      big,
      `${text.startsWith('\uFEFF') ? '\uFEFF' : ''}${[header, ...Array.from({ length: 20_000 }, () => rows).flat()].join(eol)}`,
    );
    const many = cli(['score', big, '--no-store', '-q', '--workers', '2']);
    expect(many.code, many.stderr).toBe(0);
    expect(many.stdout.trim().split('\n')).toHaveLength(200_001);
  });
});
