import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, fixture } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'secureflow-test-'));

describe('secureflow train and evaluate', () => {
  it('trains byte-identical models from the same data and seed', () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    const r = cli(['train', fixture('labelled.csv'), '--label-column', 'label', '--out', a, '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ rows: 1100, trees: 100, sample_size: 256, seed: 42 });
    cli(['train', fixture('labelled.csv'), '--label-column', 'label', '--out', b]);
    expect(readFileSync(b, 'utf8')).toBe(readFileSync(a, 'utf8'));
    const c = join(dir, 'c.json');
    cli(['train', fixture('labelled.csv'), '--label-column', 'label', '--out', c, '--seed', '7']);
    expect(readFileSync(c, 'utf8')).not.toBe(readFileSync(a, 'utf8'));
  });

  it('trained on the reference rows, matches or beats scikit-learn (ROC-AUC 0.985, PR-AUC 0.914)', () => {
    const model = join(dir, 'self.json');
    cli(['train', fixture('labelled.csv'), '--label-column', 'label', '--out', model]);
    const r = cli([
      'evaluate',
      fixture('labelled.csv'),
      '--label-column',
      'label',
      '--model',
      model,
      '--format',
      'json',
    ]);
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout);
    expect(Object.keys(m).sort()).toEqual(
      ['f1', 'fn', 'fp', 'pr_auc', 'precision', 'recall', 'roc_auc', 'rows', 'threshold', 'tn', 'tp'].sort(),
    );
    expect(m.roc_auc).toBeGreaterThanOrEqual(0.985);
    expect(m.pr_auc).toBeGreaterThanOrEqual(0.914);
    expect(m.tp + m.fp + m.tn + m.fn).toBe(1100);
  });

  it('--amount-transform auto and --day-start-hour auto choose from the training rows and record it', () => {
    const model = join(dir, 'auto.json');
    const args = ['train', fixture('labelled.csv'), '--label-column', 'label', '--out', model];
    expect(cli([...args, '--amount-transform', 'auto', '--day-start-hour', 'auto']).code).toBe(0);
    const [amount, hour] = JSON.parse(readFileSync(model, 'utf8')).features;
    // Heavy-tailed amounts; one training row of 1,100 at 07:00.
    expect(amount).toMatchObject({ transform: 'log1p', chosen: { rule: 'quantile-skewness' } });
    expect(hour).toMatchObject({
      transform: 'hours-since',
      origin: 7,
      chosen: { rule: 'quietest-hour', rows: 1, of: 1100 },
    });
    expect(cli([...args, '--day-start-hour', 'dawn']).stderr).toContain('"auto" or "none"');
    expect(cli([...args, '--amount-transform', 'sqrt']).code).toBe(2);
  });

  it('the bundled model meets the quality targets on the reference data', () => {
    const m = JSON.parse(
      cli(['evaluate', fixture('labelled.csv'), '--label-column', 'label', '--format', 'json']).stdout,
    );
    expect(m.roc_auc).toBeGreaterThanOrEqual(0.99);
    expect(m.precision).toBeGreaterThanOrEqual(0.75);
    expect(m.recall).toBeGreaterThanOrEqual(0.9);
  });

  it('reads 1/0 and true/false labels, and --positive overrides', () => {
    const src = readFileSync(fixture('labelled.csv'), 'utf8').trim().split('\n');
    const relabel = (f: (l: string) => string) =>
      [src[0], ...src.slice(1).map((row) => row.replace(/,(-?1)$/, (_, l) => `,${f(l)}`))].join('\n');
    writeFileSync(
      join(dir, '01.csv'),
      relabel((l) => (l === '-1' ? '1' : '0')),
    );
    writeFileSync(
      join(dir, 'tf.csv'),
      relabel((l) => (l === '-1' ? 'true' : 'false')),
    );
    writeFileSync(
      join(dir, 'words.csv'),
      relabel((l) => (l === '-1' ? 'fraud' : 'ok')),
    );
    const base = JSON.parse(cli(['evaluate', fixture('labelled.csv'), '--label-column', 'label', '-f', 'json']).stdout);
    expect(JSON.parse(cli(['evaluate', join(dir, '01.csv'), '--label-column', 'label', '-f', 'json']).stdout)).toEqual(
      base,
    );
    expect(JSON.parse(cli(['evaluate', join(dir, 'tf.csv'), '--label-column', 'label', '-f', 'json']).stdout)).toEqual(
      base,
    );
    const words = cli(['evaluate', join(dir, 'words.csv'), '--label-column', 'label']);
    expect(words.code).toBe(2);
    expect(words.stderr).toContain('use --positive');
    expect(
      JSON.parse(
        cli(['evaluate', join(dir, 'words.csv'), '--label-column', 'label', '--positive', 'fraud', '-f', 'json'])
          .stdout,
      ),
    ).toEqual(base);
  });

  it('prints a readable table on request', () => {
    const r = cli(['evaluate', fixture('labelled.csv'), '--label-column', 'label', '-f', 'table']);
    expect(r.stdout).toMatch(/ROC-AUC\s+0\.99/);
    expect(r.stdout).toContain('flagged');
  });

  it('refuses bad training data and options, naming the line, field or flag', () => {
    const bad = cli(['train', fixture('bad-rows.csv'), '--out', join(dir, 'x.json')]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('line 3: amount must be a number');
    expect(cli(['train', fixture('labelled.csv'), '--out', join(dir, 'x.json'), '--contamination', '0.9']).code).toBe(
      2,
    );
    expect(cli(['train', fixture('labelled.csv'), '--out', join(dir, 'x.json'), '--trees', 'many']).code).toBe(2);
    const nolabel = cli(['evaluate', fixture('transactions.csv'), '--label-column', 'label']);
    expect(nolabel.code).toBe(3);
    expect(nolabel.stderr).toContain('no column for label');
  });
});
