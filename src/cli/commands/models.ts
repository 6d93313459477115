import { writeFileSync } from 'node:fs';
import { SecureflowError } from '../../core/errors.js';
import type { ModelVersion } from '../../db/store.js';
import { readModelText } from '../../core/model-source.js';
import { parseModel, type ModelDocument } from '../../model/model-file.js';
import { withStore } from '../database.js';
import { renderTable } from '../table.js';
import { resolveFormat, type IOStreams } from '../io.js';

interface ModelsOptions {
  db?: string;
  format?: 'table' | 'json';
}

/** The bundled model's version: always there, used when no registered model is active. */
const BUNDLED = readModelText().doc.id;

const wantsJson = (format: 'table' | 'json' | 'text' | undefined, io: IOStreams) =>
  resolveFormat(format, io, 'table', 'json') === 'json';

function rows(models: ModelVersion[]) {
  return models.map((m) => [m.id, m.version, m.active ? '*' : '', m.rows, m.trained_at, summarizeMetrics(m.metrics)]);
}

function summarizeMetrics(metrics: unknown): string {
  const m = metrics as { roc_auc?: number; pr_auc?: number } | null;
  return m && typeof m.roc_auc === 'number'
    ? `roc_auc ${m.roc_auc.toFixed(4)} pr_auc ${(m.pr_auc ?? NaN).toFixed(4)}`
    : '';
}

export async function runModelsList(opts: ModelsOptions, io: IOStreams): Promise<void> {
  await withStore(
    opts.db,
    async (store) => {
      const models = await store.listModels();
      if (wantsJson(opts.format, io)) io.stdout.write(`${JSON.stringify(models)}\n`);
      else if (models.length === 0)
        io.stdout.write(
          `no registered models: scoring uses the bundled model ${BUNDLED} (secureflow train --register to add one)\n`,
        );
      else {
        const bundled = ['-', BUNDLED, models.some((m) => m.active) ? '' : '*', '', '', 'bundled'];
        io.stdout.write(
          renderTable(['id', 'version', 'active', 'rows', 'trained_at', 'metrics'], [bundled, ...rows(models)]),
        );
      }
    },
    { mustExist: true },
  );
}

export async function runModelsShow(
  version: string,
  opts: ModelsOptions & { export?: string },
  io: IOStreams,
): Promise<void> {
  await withStore(
    opts.db,
    async (store) => {
      const model = await store.getModel(version);
      if (!model && version === BUNDLED) {
        const active = await store.activeModel();
        if (opts.export) writeFileSync(opts.export, readModelText().text);
        const meta = { id: null, version: BUNDLED, bundled: true, active: active === null };
        if (wantsJson(opts.format, io)) io.stdout.write(`${JSON.stringify(meta)}\n`);
        else
          io.stdout.write(
            `bundled model ${BUNDLED}${meta.active ? ' (active: no registered model is)' : ''}\n${opts.export ? `model written to ${opts.export}\n` : ''}`,
          );
        return;
      }
      if (!model) throw new SecureflowError('not_found', `model ${version} not found (see secureflow models list)`);
      if (opts.export) writeFileSync(opts.export, model.model);
      const { model: text, ...meta } = model;
      const lineage = lineageOf(parseModel(text));
      if (wantsJson(opts.format, io)) io.stdout.write(`${JSON.stringify({ ...meta, ...lineage })}\n`);
      else {
        io.stdout.write(renderTable(['id', 'version', 'active', 'rows', 'trained_at', 'metrics'], rows([meta])));
        io.stdout.write(
          `options: ${JSON.stringify(meta.options)}\n${describeLineage(lineage)}${opts.export ? `model written to ${opts.export}\n` : ''}`,
        );
      }
    },
    { mustExist: true },
  );
}

export async function runModelsDeactivate(opts: ModelsOptions, io: IOStreams): Promise<void> {
  await withStore(
    opts.db,
    async (store) => {
      const was = await store.deactivateModels();
      if (wantsJson(opts.format, io)) io.stdout.write(`${JSON.stringify({ deactivated: was, active: BUNDLED })}\n`);
      else
        io.stdout.write(
          `${was ? `model ${was.version} is no longer active` : 'no registered model was active'}: secureflow score uses the bundled model ${BUNDLED}\n`,
        );
    },
    { mustExist: true },
  );
}

export async function runModelsActivate(version: string, opts: ModelsOptions, io: IOStreams): Promise<void> {
  await withStore(
    opts.db,
    async (store) => {
      if (version === BUNDLED && !(await store.getModel(version))) {
        const was = await store.deactivateModels();
        if (wantsJson(opts.format, io)) io.stdout.write(`${JSON.stringify({ deactivated: was, active: BUNDLED })}\n`);
        else io.stdout.write(`the bundled model ${BUNDLED} is now active: secureflow score uses it\n`);
        return;
      }
      const model = await store.activateModel(version);
      if (!model) throw new SecureflowError('not_found', `model ${version} not found (see secureflow models list)`);
      if (wantsJson(opts.format, io)) io.stdout.write(`${JSON.stringify(model)}\n`);
      else io.stdout.write(`model ${model.version} is now active: secureflow score uses it\n`);
    },
    { mustExist: true },
  );
}

/** Where a registered model came from, as its file records it: threshold, calibration, training rows, choices. */
function lineageOf(doc: ModelDocument) {
  const chosen = doc.features.flatMap((f) => (f.chosen ? [{ feature: f.name, ...f.chosen }] : []));
  return {
    threshold: doc.threshold,
    calibration: doc.calibration ?? null,
    provenance: doc.provenance ?? null,
    chosen_representations: chosen,
    /** The conditional features the forest also splits on (none: []), with what each reads and why it was kept. */
    conditional_features: (doc.conditional ?? []).map((c) => ({
      name: c.name,
      reads: c.reads,
      chosen: c.chosen ?? null,
    })),
  };
}

function describeLineage(l: ReturnType<typeof lineageOf>): string {
  const lines = [`threshold: ${l.threshold}`];
  const c = l.calibration;
  if (c) {
    const target = `${(c.target * 100).toFixed(2).replace(/\.?0+$/, '')}%`;
    const on = c.source === 'feedback' ? "analysts' verdicts" : c.files.map((f) => f.name).join(', ');
    lines.push(
      `calibrated: ${c.method} ${target} on ${c.rows.toLocaleString('en-US')} rows (${on}); flags ` +
        `${c.flagged.toLocaleString('en-US')}; from model ${c.fromVersion} (threshold ${c.fromThreshold})`,
    );
  }
  const p = l.provenance;
  if (p)
    lines.push(
      `trained from the database: ${p.rows.toLocaleString('en-US')} rows, ids ${p.firstId}..${p.lastId}` +
        `${p.since ? ` since ${p.since}` : ''}, ${p.leftOut.toLocaleString('en-US')} confirmed fraud left out; rows sha256 ${p.sha256}`,
    );
  for (const c of l.chosen_representations) lines.push(`${c.feature}: chosen from the data (${JSON.stringify(c)})`);
  for (const c of l.conditional_features)
    lines.push(
      `conditional feature ${c.name} (reads ${c.reads.join(', ')})` +
        (c.chosen ? `: kept, category dependence z ${c.chosen.z}, V ${c.chosen.cramersV}` : ''),
    );
  return `${lines.join('\n')}\n`;
}
