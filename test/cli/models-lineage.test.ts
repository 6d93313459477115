/** `models show` tells where a registered model came from: its threshold, calibration, training rows and choices. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, fixture } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'secureflow-lineage-'));

describe('secureflow models show: lineage', () => {
  it('shows a calibrated model its calibration, and a model trained from the database its rows', () => {
    const db = join(dir, 'lineage.db');
    const calibrated = join(dir, 'calibrated.json');
    const cal = cli([
      'calibrate',
      fixture('labelled.csv'),
      '--alert-rate',
      '2%',
      '--out',
      calibrated,
      '--db',
      db,
      '--register',
      '--format',
      'json',
    ]);
    expect(cal.code, cal.stderr).toBe(0);
    const calVersion = JSON.parse(cal.stdout).id as string;

    const json = cli(['models', 'show', calVersion, '--db', db, '--format', 'json']);
    expect(json.code, json.stderr).toBe(0);
    const shown = JSON.parse(json.stdout);
    expect(shown.version).toBe(calVersion);
    expect(shown.calibration).toMatchObject({ method: 'alert-rate', target: 0.02, rows: 1100, flagged: 22 });
    expect(shown.calibration.files[0].name).toBe('labelled.csv');
    expect(shown.provenance).toBeNull();
    expect(shown.threshold).toBeGreaterThan(0.6);

    const text = cli(['models', 'show', calVersion, '--db', db, '--format', 'table']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/calibrated: alert-rate 2% on 1,100 rows \(labelled\.csv\); flags 22; from model /);

    // Stored traffic, one verdict confirming fraud, a model trained from the database with auto representations.
    expect(cli(['score', fixture('labelled.csv'), '--db', db, '-q']).code).toBe(0);
    const flagged = cli(['transactions', 'list', '--db', db, '--anomalies', '--limit', '1', '--format', 'json']);
    const id = JSON.parse(flagged.stdout).transactions[0].id as number;
    expect(cli(['feedback', String(id), '--correct', '--db', db]).code).toBe(0);
    const trained = join(dir, 'from-db.json');
    const train = cli(['train', '--from-db', '--db', db, '--out', trained, '--amount-transform', 'auto', '--register']);
    expect(train.code, train.stderr).toBe(0);
    const models = JSON.parse(cli(['models', 'list', '--db', db, '--format', 'json']).stdout) as { version: string }[];
    const trainedVersion = models.map((m) => m.version).find((v) => v !== calVersion)!;
    const fromDb = JSON.parse(cli(['models', 'show', trainedVersion, '--db', db, '--format', 'json']).stdout);
    // The verdict's row is left out: the last id used is 1100 unless that was the row.
    const lastId = id === 1100 ? 1099 : 1100;
    expect(fromDb.provenance).toMatchObject({ source: 'database', rows: 1099, leftOut: 1, firstId: 1, lastId });
    expect(fromDb.calibration).toBeNull();
    expect(fromDb.chosen_representations).toEqual([expect.objectContaining({ feature: 'amount' })]);
    const fromDbText = cli(['models', 'show', trainedVersion, '--db', db, '--format', 'table']).stdout;
    expect(fromDbText).toContain(`trained from the database: 1,099 rows, ids 1..${lastId}, 1 confirmed fraud left out`);
    expect(fromDbText).toMatch(/amount: chosen from the data/);
  }, 60_000);
});
