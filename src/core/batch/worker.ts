import { parentPort, workerData } from 'node:worker_threads';
import { parseModel } from '../../model/model-file.js';
import { IsolationForestModel } from '../../model/model.js';
import { scoreChunk, type ChunkJob, type ChunkSettings } from './score-chunk.js';

/** Worker thread: loads the model once, then scores chunks as they come. */
const data = workerData as { modelText: string; threshold?: number; settings: ChunkSettings };
const model = new IsolationForestModel(parseModel(data.modelText), data.threshold);
parentPort!.on('message', (job: ChunkJob) => {
  const result = scoreChunk(model, job, data.settings);
  parentPort!.postMessage(result, [result.output.buffer as ArrayBuffer]);
});
