import { parentPort, workerData } from 'node:worker_threads';
import { parseModel } from '../../model/model-file.js';
import { IsolationForestModel } from '../../model/model.js';
import { compileRules } from '../rules/apply-rules.js';
import type { FromWorker, ToWorker, WorkerInit } from './executors.js';
import { formatChunk, scoreChunkRows, type ScoredChunk } from './score-chunk.js';

/**
 * Worker thread: loads the model and compiles the rules once, then scores chunks. A chunk to be stored is scored, sent back for
 * storing, and kept here until its ids arrive; then it is formatted with them.
 */
const data = workerData as WorkerInit;
const model = new IsolationForestModel(parseModel(data.modelText), data.threshold);
const rules = compileRules(data.rules); // once per worker, then evaluated per row
const awaitingIds = new Map<number, ScoredChunk>();

const send = (msg: FromWorker): void => {
  if (msg.kind === 'done') parentPort!.postMessage(msg, [msg.result.output.buffer as ArrayBuffer]);
  else parentPort!.postMessage(msg);
};

parentPort!.on('message', (msg: ToWorker) => {
  if (msg.kind === 'score') {
    const chunk = scoreChunkRows(model, msg.job, data.settings, rules);
    if (!msg.store) send({ kind: 'done', result: formatChunk(model, chunk, data.settings, null) });
    else {
      awaitingIds.set(msg.job.seq, chunk);
      send({ kind: 'scored', batch: chunk.batch });
    }
    return;
  }
  const chunk = awaitingIds.get(msg.seq)!;
  awaitingIds.delete(msg.seq);
  send({ kind: 'done', result: formatChunk(model, chunk, data.settings, msg.ids) });
});
