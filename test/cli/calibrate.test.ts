import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore, resolveDatabase } from '../../src/db/open-store.js';
import { cli, csvTable, fixture, writeRepeatedFixture } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'secureflow-calibrate-'));
const labelled = fixture('labelled.csv');
const bundled = JSON.parse(
  readFileSync(new URL('../../src/model/default-model.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

/** How many rows of `file` the model flags, scored as a user would (nothing stored). */
function flaggedBy(model: string, file: string): { rows: number; flagged: number } {
  const r = cli(['score', file, '--model', model, '--no-store', '-f', 'csv']);
  expect(r.code).toBe(0);
  const rows = csvTable(r.stdout);
  return { rows: rows.length, flagged: rows.filter((x) => x.is_anomaly === 'true').length };
}

describe('secureflow calibrate', () => {
  it('to an alert rate of 2%: the new model flags at most 2% of that traffic, and says so in JSON', () => {
    const out = join(dir, 'rate.json');
    const r = cli(['calibrate', labelled, '--out', out, '--alert-rate', '2%', '-f', 'json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(Object.keys(s)).toEqual([
      'id',
      'path',
      'from_version',
      'method',
      'source',
      'target',
      'rows',
      'positives',
      'positive_label',
      'files',
      'allowed_rows',
      'note',
      'before',
      'after',
      'registered',
      'active',
    ]);
    expect(s).toMatchObject({
      method: 'alert-rate',
      target: 0.02,
      rows: 1100,
      allowed_rows: 22,
      from_version: bundled.id,
      positives: null,
      registered: false,
    });
    expect(s.files).toEqual([
      { name: 'labelled.csv', sha256: createHash('sha256').update(readFileSync(labelled)).digest('hex') },
    ]);
    expect(Object.keys(s.after)).toEqual(['threshold', 'flagged_share', 'precision', 'recall']);
    expect(s.after.flagged_share).toMatchObject({ successes: 22, n: 1100, value: 0.02 });
    expect(s.after.flagged_share.low).toBeLessThan(0.02);
    expect(s.after.flagged_share.high).toBeGreaterThan(0.02);
    expect(s.after.precision).toBeNull();
    // The bundled threshold flags about 10% of this traffic; the calibrated one is higher.
    expect(s.before.threshold).toBe(bundled.threshold);
    expect(s.before.flagged_share.value).toBeGreaterThan(0.08);
    expect(s.after.threshold).toBeGreaterThan(s.before.threshold);

    const scored = flaggedBy(out, labelled);
    expect(scored.rows).toBe(1100);
    expect(scored.flagged).toBeLessThanOrEqual(22);
    expect(scored.flagged).toBe(s.after.flagged_share.successes);

    // Same trees and training distribution, a new threshold, its provenance, a new version.
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    expect(doc.id).toBe(s.id);
    expect(doc.id).not.toBe(bundled.id);
    expect(doc.forest).toEqual(bundled.forest);
    expect(doc.training).toEqual(bundled.training);
    expect(doc.threshold).toBe(s.after.threshold);
    expect(doc.calibration).toEqual({
      method: 'alert-rate',
      source: 'files',
      target: 0.02,
      rows: 1100,
      flagged: 22,
      positives: null,
      labelColumn: null,
      files: s.files,
      fromVersion: bundled.id,
      fromThreshold: bundled.threshold,
    });
  });

  it('never exceeds the rate when tied rows straddle the limit, and says what it did', () => {
    // Ten distinct transactions, ten times each: every score is tied ten times over.
    const file = join(dir, 'tied.csv');
    writeRepeatedFixture('transactions.csv', 10, file);
    const out = join(dir, 'tied.json');
    const r = cli(['calibrate', file, '--out', out, '--alert-rate', '15%', '-f', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.allowed_rows).toBe(15);
    expect(s.after.flagged_share.successes).toBe(10); // 20 would be over 15%
    expect(s.note).toMatch(/^10 rows tie at score .* across the limit of 15; .* flagging 10/);
    expect(flaggedBy(out, file).flagged).toBe(10);
  });

  it('is deterministic: the same traffic and target give the same file, byte for byte', () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    expect(cli(['calibrate', labelled, '--out', a, '--alert-rate', '0.02']).code).toBe(0);
    expect(cli(['calibrate', labelled, '--out', b, '--alert-rate', '2%']).code).toBe(0);
    expect(readFileSync(b, 'utf8')).toBe(readFileSync(a, 'utf8'));
  });

  it('to a target precision: the lowest threshold that reaches it, with precision and recall and their intervals', () => {
    const out = join(dir, 'precision.json');
    const r = cli([
      'calibrate',
      labelled,
      '--out',
      out,
      '--target-precision',
      '90%',
      '--label-column',
      'label',
      '-f',
      'json',
    ]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ method: 'target-precision', target: 0.9, positives: 100, positive_label: '-1' });
    expect(s.after.precision.value).toBeGreaterThanOrEqual(0.9);
    expect(s.after.precision.n).toBe(s.after.flagged_share.successes);
    expect(s.after.recall.n).toBe(100);
    expect(s.after.precision.low).toBeLessThan(s.after.precision.value);
    // evaluate agrees with the figures printed.
    const m = JSON.parse(cli(['evaluate', labelled, '--label-column', 'label', '--model', out, '-f', 'json']).stdout);
    expect(m.precision).toBeCloseTo(s.after.precision.value, 12);
    expect(m.recall).toBeCloseTo(s.after.recall.value, 12);
    const text = cli([
      'calibrate',
      labelled,
      '--out',
      join(dir, 'p2.json'),
      '--target-precision',
      '0.9',
      '--label-column',
      'label',
      '-f',
      'text',
    ]).stdout;
    expect(text).toMatch(/for a precision of at least 90%/);
    expect(text).toMatch(/precision\s+\d+\.\d+%\s+\[\d+\.\d+%, \d+\.\d+%\]\s+\d+ of \d+ flagged rows/);
    expect(text).toMatch(/recall\s+\d+\.\d+%\s+\[\d+\.\d+%, \d+\.\d+%\]\s+\d+ of 100 anomalies/);
  });

  it('--register --activate: secureflow score then uses the calibrated model', () => {
    const db = join(dir, 'registry.db');
    const env = { SECUREFLOW_DB: db };
    const out = join(dir, 'active.json');
    const r = cli(
      ['calibrate', labelled, '--out', out, '--alert-rate', '2%', '--register', '--activate', '-f', 'json'],
      {
        env,
      },
    );
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ registered: true, active: true });
    const scored = cli(['score', fixture('transactions.csv'), '-f', 'json'], { env });
    expect(scored.code).toBe(0);
    const rows = JSON.parse(scored.stdout) as { model_version: string }[];
    expect(rows.length).toBe(10);
    expect(new Set(rows.map((x) => x.model_version))).toEqual(new Set([s.id]));
    const list = cli(['models', 'list', '-f', 'json'], { env });
    expect(JSON.parse(list.stdout).find((m: { version: string }) => m.version === s.id)?.active).toBe(true);
    // The dashboard shows the active threshold's expected alert rate, from the calibration record.
    const dash = cli(['dashboard', '--once'], { env });
    expect(dash.code).toBe(0);
    expect(dash.stdout).toContain(
      `threshold ${s.after.threshold.toFixed(4)} expects 2.00% alerts [1.32%, 3.01%] (1,100 calibration rows)`,
    );
  });

  it("--from-feedback: learns fraud from the analysts' verdicts on stored transactions", async () => {
    const db = join(dir, 'feedback.db');
    const env = { SECUREFLOW_DB: db };
    const scored = cli(['score', labelled, '-f', 'json'], { env });
    expect(scored.code).toBe(0);
    const rows = JSON.parse(scored.stdout) as { transaction_id: number; is_anomaly: boolean; label: string }[];
    // Analysts review every flagged row and one passed row in five (as they would: mostly the alerts).
    const store = await openStore(resolveDatabase(db));
    let reviewed = 0;
    let fraud = 0;
    try {
      for (const [i, r] of rows.entries()) {
        if (!r.is_anomaly && i % 5 !== 0) continue;
        const isFraud = r.label === '-1';
        await store.upsertFeedback(r.transaction_id, r.is_anomaly === isFraud, null);
        reviewed++;
        fraud += isFraud ? 1 : 0;
      }
    } finally {
      await store.close();
    }
    const out = join(dir, 'from-feedback.json');
    const args = ['calibrate', '--from-feedback', '--target-precision', '0.9', '--out', out];
    const r = cli([...args, '-f', 'json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({
      method: 'target-precision',
      source: 'feedback',
      target: 0.9,
      rows: reviewed,
      positives: fraud,
    });
    expect(s.files).toEqual([{ name: 'feedback', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    expect(s.after.precision.value).toBeGreaterThanOrEqual(0.9);
    expect(JSON.parse(readFileSync(out, 'utf8')).calibration).toMatchObject({ source: 'feedback', rows: reviewed });
    // The same verdicts give the same model.
    const again = join(dir, 'from-feedback-2.json');
    expect(cli(['calibrate', '--from-feedback', '--target-precision', '0.9', '--out', again], { env }).code).toBe(0);
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(out, 'utf8'));
    const text = cli([...args, '-f', 'text'], { env }).stdout;
    expect(text).toContain(`on ${reviewed} reviewed transactions (${fraud} fraud by the analysts' verdicts)`);
    expect(text).toContain('the flagged share is of reviewed ones');
    for (const [bad, flag] of [
      [['--alert-rate', '2%'], '--from-feedback'],
      [['--target-precision', '0.9', labelled], 'FILE'],
      [['--target-precision', '0.9', '--label-column', 'label'], '--label-column'],
    ] as const) {
      const b = cli(['calibrate', '--from-feedback', '--out', join(dir, 'z.json'), ...bad], { env });
      expect(b.code, bad.join(' ')).toBe(2);
      expect(b.stderr).toContain(flag);
    }
    const empty = cli(['calibrate', '--from-feedback', '--target-precision', '0.9', '--out', join(dir, 'z.json')], {
      env: { SECUREFLOW_DB: join(dir, 'none.db') },
    });
    expect(empty.code).toBe(4); // no database there: named, not created
  });

  it('refuses bad flags with exit 2, naming the flag', () => {
    const out = join(dir, 'x.json');
    const run = (...args: string[]) => cli(['calibrate', labelled, '--out', out, ...args]);
    for (const [args, flag] of [
      [['--alert-rate', '0'], '--alert-rate'],
      [['--alert-rate', '150%'], '--alert-rate'],
      [['--alert-rate', 'two'], '--alert-rate'],
      [['--target-precision', '1.5', '--label-column', 'label'], '--target-precision'],
      [['--alert-rate', '2%', '--target-precision', '0.9', '--label-column', 'label'], '--alert-rate'],
      [[], '--alert-rate'],
      [['--target-precision', '0.9'], '--label-column'],
      [['--alert-rate', '2%', '--activate'], '--register'],
    ] as const) {
      const r = run(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(flag);
    }
    const noOut = cli(['calibrate', labelled, '--alert-rate', '2%']);
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toContain('--out');
  });

  it('refuses traffic it cannot calibrate on, naming why (exit 3)', () => {
    const few = cli(['calibrate', fixture('transactions.csv'), '--out', join(dir, 'y.json'), '--alert-rate', '2%']);
    expect(few.code).toBe(3);
    expect(few.stderr).toContain('allows no flagged row out of 10');
    const unreachable = cli([
      'calibrate',
      labelled,
      '--out',
      join(dir, 'y.json'),
      '--target-precision',
      '100%',
      '--label-column',
      'label',
      '--positive',
      '1',
    ]);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain('no threshold reaches a precision of 100%');
    const bad = cli(['calibrate', fixture('bad-rows.csv'), '--out', join(dir, 'y.json'), '--alert-rate', '2%']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('line 3: amount must be a number');
  });
});
