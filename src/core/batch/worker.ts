import { parentPort, workerData } from 'node:worker_threads';
import { parseModel } from '../../model/model-file.js';
import { IsolationForestModel } from '../../model/model.js';
import { compileRules } from '../rules/apply-rules.js';
import type { ExplanationTexts, FromWorker, ToWorker, WorkerData } from './executors.js';
import { formatChunk, scoreChunkRows, type ScoredBatch, type ScoredChunk } from './score-chunk.js';
import { scoreFeatureRows } from './score-features.js';
import { explanationText } from '../scored-transaction.js';

/**
 * Worker thread: loads the model and compiles the rules once, then scores chunks. A chunk to be stored is scored,
 * sent back for storing, and kept here until its ids arrive; then it is formatted with them. The daemon's pool
 * sends rows already read instead ('rows'): they are scored and sent back, every array transferred (the daemon
 * applies its rules to them itself).
 */
const data = workerData as WorkerData;
const model = new IsolationForestModel(parseModel(data.modelText), data.threshold);
const rules = compileRules(data.rules); // once per worker, then evaluated per row
const awaitingIds = new Map<number, ScoredChunk>();

const send = (msg: FromWorker): void => {
  if (msg.kind === 'done') parentPort!.postMessage(msg, [msg.result.output.buffer as ArrayBuffer]);
  else if (msg.kind === 'rows') {
    const b = msg.batch;
    const arrays: ArrayBufferView[] = [b.features, b.anomalyScore, b.riskScore, b.confidence, b.isAnomaly];
    if (b.shap) arrays.push(b.shap);
    if (msg.texts) arrays.push(msg.texts.ends);
    parentPort!.postMessage(msg, [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))]);
  } else parentPort!.postMessage(msg);
};

parentPort!.on('message', (msg: ToWorker) => {
  if (msg.kind === 'rows') {
    const batch = scoreFeatureRows(model, msg.seq, msg.features, msg.count, null, msg.explain);
    send({ kind: 'rows', batch, texts: batch.shap ? explanationTexts(batch, batch.shap) : null });
    return;
  }
  const settings = data.settings!; // the CLI's pool: chunk jobs only
  if (msg.kind === 'score') {
    const chunk = scoreChunkRows(model, msg.job, settings, rules);
    if (!msg.store) send({ kind: 'done', result: formatChunk(model, chunk, settings, null) });
    else {
      awaitingIds.set(msg.job.seq, chunk);
      send({ kind: 'scored', batch: chunk.batch });
    }
    return;
  }
  const chunk = awaitingIds.get(msg.seq)!;
  awaitingIds.delete(msg.seq);
  send({ kind: 'done', result: formatChunk(model, chunk, settings, msg.ids) });
});

/** Each row's explanation as JSON text (ExplanationTexts): written here, in parallel, not on the daemon's thread. */
function explanationTexts(batch: ScoredBatch, shap: Float64Array): ExplanationTexts {
  const ends = new Int32Array(2 * batch.count);
  let text = '';
  for (let v = 0; v < batch.count; v++) {
    const part = explanationText(model, batch.features, shap, v);
    text += part.shap;
    ends[2 * v] = text.length;
    text += part.factors;
    ends[2 * v + 1] = text.length;
  }
  return { text, ends };
}
