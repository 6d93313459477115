import { writeFileSync } from 'node:fs';
import { SecureflowError } from '../../core/errors.js';
import type { ModelVersion } from '../../db/store.js';
import { withStore } from '../database.js';
import { renderTable } from '../table.js';

interface ModelsOptions {
  db?: string;
  format?: 'table' | 'json';
}

const wantsJson = (format?: string) => (format ?? (process.stdout.isTTY ? 'table' : 'json')) === 'json';

function rows(models: ModelVersion[]) {
  return models.map((m) => [m.id, m.version, m.active ? '*' : '', m.rows, m.trained_at, summarizeMetrics(m.metrics)]);
}

function summarizeMetrics(metrics: unknown): string {
  const m = metrics as { roc_auc?: number; pr_auc?: number } | null;
  return m && typeof m.roc_auc === 'number' ? `roc_auc ${m.roc_auc.toFixed(4)} pr_auc ${(m.pr_auc ?? NaN).toFixed(4)}` : '';
}

export async function runModelsList(opts: ModelsOptions): Promise<void> {
  await withStore(opts.db, async (store) => {
    const models = await store.listModels();
    if (wantsJson(opts.format)) process.stdout.write(`${JSON.stringify(models)}\n`);
    else if (models.length === 0) process.stdout.write('no registered models: scoring uses the bundled model (secureflow train --register to add one)\n');
    else process.stdout.write(renderTable(['id', 'version', 'active', 'rows', 'trained_at', 'metrics'], rows(models)));
  });
}

export async function runModelsShow(version: string, opts: ModelsOptions & { export?: string }): Promise<void> {
  await withStore(opts.db, async (store) => {
    const model = await store.getModel(version);
    if (!model) throw new SecureflowError('not_found', `model ${version} not found (see secureflow models list)`);
    if (opts.export) writeFileSync(opts.export, model.model);
    const { model: _text, ...meta } = model;
    if (wantsJson(opts.format)) process.stdout.write(`${JSON.stringify(meta)}\n`);
    else {
      process.stdout.write(renderTable(['id', 'version', 'active', 'rows', 'trained_at', 'metrics'], rows([meta])));
      process.stdout.write(`options: ${JSON.stringify(meta.options)}\n${opts.export ? `model written to ${opts.export}\n` : ''}`);
    }
  });
}

export async function runModelsActivate(version: string, opts: ModelsOptions): Promise<void> {
  await withStore(opts.db, async (store) => {
    const model = await store.activateModel(version);
    if (!model) throw new SecureflowError('not_found', `model ${version} not found (see secureflow models list)`);
    if (wantsJson(opts.format)) process.stdout.write(`${JSON.stringify(model)}\n`);
    else process.stdout.write(`model ${model.version} is now active: secureflow score uses it\n`);
  });
}
