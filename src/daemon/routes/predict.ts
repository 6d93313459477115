import type { FastifyInstance } from 'fastify';
import { type ReadBatch, readJsonTransactions, scoreAndStore } from '../../core/batch-body.js';
import { SecureflowError } from '../../core/errors.js';
import { scoreValidAsText, validateTransaction, type ValidTransaction } from '../../core/score-transaction.js';
import { baseValueText, explanationJson } from '../../core/scored-transaction.js';
import { scoreResultText, toNewTransaction } from '../../core/scored-views.js';
import { checkTransactions, StoreError } from '../../db/shared.js';
import type { NewTransaction } from '../../db/store.js';
import type { RouteContext } from '../app.js';
import { routeSchemas } from '../contract/routes.js';
import { schemaCheck } from '../contract/validation.js';
import { isCsvBody } from '../csv-body.js';
import { badRequest } from '../http-error.js';
import { MicroBatcher } from '../micro-batcher.js';
import { boolParam, queryOf } from './params.js';

/** Scoring: one transaction, or a batch as JSON or CSV. Every scored transaction is stored before the answer. */
export function predictRoutes(untyped: FastifyInstance, { db, options, metrics, workers }: RouteContext): void {
  const scorer = new MicroBatcher((items: ValidTransaction[]) => {
    const start = process.hrtime.bigint();
    const results = scoreValidAsText(db.model, items, db.rules);
    metrics.scoringDuration.observe({ endpoint: 'predict' }, Number(process.hrtime.bigint() - start) / 1e9);
    return results;
  }, 256);
  // A row the database refuses fails its group's transaction: the group is split until only that row fails.
  // A scored batch's rows are stored as one group in the same turn (their requests resume together, as microtasks).
  const writes = new MicroBatcher(
    (rows: NewTransaction[]) => db.run((s) => s.insertTransactions(rows)),
    1000,
    (e) => e instanceof StoreError && e.kind === 'invalid',
    queueMicrotask,
  );

  // Untyped: its answer is written as text (scoreResultText), the bytes the schema's serialiser wrote for the
  // object; openapi.test.ts holds every answer to the schema.
  untyped.post(
    '/api/predict',
    { schema: routeSchemas.predict, config: { permission: 'score' } },
    async (request, reply) => {
      const store = boolParam('store', queryOf(request.query).store) ?? true;
      const valid = validateTransaction(request.body);
      schemaCheck(request);
      if (store) db.require(); // 503 before any work while the database is away
      const { scored, explanation, model } = await scorer.add(valid);
      if (store) {
        const row = toNewTransaction(scored, { source: 'api', batchId: null }, explanationJson(model, explanation));
        checkTransactions([row]); // what the database would refuse never joins (and fails) a group
        scored.transaction_id = await writes.add(row);
      }
      metrics.countVerdicts(scored.is_anomaly ? 1 : 0, 1);
      metrics.countDecision(scored);
      reply.type('application/json; charset=utf-8');
      return scoreResultText(scored, explanation, baseValueText(model), {
        dataSource: 'api',
        timestamp: new Date().toISOString(),
      });
    },
  );

  // Untyped: its answer is built as text a slice at a time (below); openapi.test.ts holds it to the schema.
  untyped.post(
    '/api/predict-batch',
    { schema: routeSchemas.predictBatch, config: { permission: 'score' } },
    async (request, reply) => {
      const query = queryOf(request.query);
      const explain = boolParam('explain', query.explain) ?? true;
      const store = boolParam('store', query.store) ?? true;
      if (store) db.require();
      const tooMany = (n: number) =>
        new SecureflowError(
          'too_large',
          `too many transactions: ${n}, the limit is ${options.batchLimit} per request`,
          {
            limit: options.batchLimit,
            received: n,
          },
        );
      let read: ReadBatch;
      if (isCsvBody(request.body))
        read = request.body.csv; // read, counted and limited as it arrived
      else {
        const list = batchItems(request.body);
        if (list.length > options.batchLimit) throw tooMany(list.length);
        schemaCheck(request);
        read = readJsonTransactions(list);
      }
      const total = read.count + read.errors.size;
      if (total > options.batchLimit) throw tooMany(total);
      metrics.batchSize.observe(total);
      const scoring = { explain, rules: db.rules, source: 'api', workers: workers.for(db.model) };
      const { items, batch, batchId, scoringSeconds } = await (store
        ? db.run((s) => scoreAndStore(db.model, read, total, { ...scoring, store: s }))
        : scoreAndStore(db.model, read, total, { ...scoring, store: null }));
      metrics.scoringDuration.observe({ endpoint: 'predict-batch' }, scoringSeconds);
      let flagged = 0;
      for (let v = 0; v < batch.count; v++) flagged += batch.isAnomaly[v];
      metrics.countVerdicts(flagged, batch.count);
      metrics.countDecisions(batch);
      const summary = {
        total_processed: total,
        scored: batch.count,
        errors: read.errors.size,
        flagged,
        batch_id: batchId,
        model_version: db.model.version,
        threshold_risk: db.model.thresholdRisk, // where risk_level's bands start, for clients formatting rows
        timestamp: new Date().toISOString(),
      };
      // Each item was serialised as its row was made (scoreAndStore): megabytes of JSON, never in one blocking call.
      reply.type('application/json; charset=utf-8');
      return joinedBody('{"results":[', items, `],${JSON.stringify(summary).slice(1)}`);
    },
  );
}

/**
 * `head`, the items comma-separated, `tail`: encoded item by item into one buffer. A joined string would be
 * copied to join, again to flatten, scanned for its length and encoded when written: 4x the time for 10k items.
 */
function joinedBody(head: string, items: readonly string[], tail: string): Buffer {
  let bytes = Buffer.byteLength(head) + Buffer.byteLength(tail) + Math.max(0, items.length - 1);
  for (const item of items) bytes += Buffer.byteLength(item);
  const body = Buffer.allocUnsafe(bytes);
  let at = body.write(head, 0);
  for (let i = 0; i < items.length; i++) {
    if (i > 0) body[at++] = 0x2c; // ','
    at += body.write(items[i], at);
  }
  at += body.write(tail, at);
  return body.subarray(0, at);
}

/** `{transactions: [...]}` as the original took it; a bare array is accepted too. */
function batchItems(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  if (body === null || typeof body !== 'object')
    throw badRequest('transactions', 'is required: send {"transactions": [...]} or CSV with Content-Type: text/csv');
  const list = (body as Record<string, unknown>).transactions;
  if (list === undefined) throw badRequest('transactions', 'is required: send {"transactions": [...]}');
  if (!Array.isArray(list)) throw badRequest('transactions', 'must be an array of transactions');
  return list;
}
