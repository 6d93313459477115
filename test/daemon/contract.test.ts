/**
 * The HTTP contract of DESIGN.md over SQLite, in-process (app.inject, no socket): every field the browser
 * front end reads, legacy shapes, and the 4xx answers. The built daemon runs the same answers end to end, and
 * checks them against the published schemas, in openapi.test.ts.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestServer, type TestServer } from './server-helpers.js';
import { PREDICT_FIELDS } from '../support/contract.js';

let server: TestServer;
let base: FastifyInstance;
beforeAll(async () => {
  server = await startTestServer();
  base = server.app;
});
afterAll(() => server.close());

const FEATURES = ['amount', 'hour', 'day_of_week', 'merchant_category', 'transaction_type'];
const normal = { amount: 42.5, hour: 14, day_of_week: 2, merchant_category: 3, transaction_type: 0 };
const odd = { amount: 4800, hour: 3, day_of_week: 6, merchant_category: 9, transaction_type: 2 };

describe('GET /api/health', () => {
  it('reports healthy with the database and model version', async () => {
    const r = await call(base, 'GET', '/api/health');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ status: 'healthy', database: 'connected' });
    expect(r.json.model_version).toMatch(/^[0-9a-f]{16}$/);
    expect(Date.parse(r.json.timestamp)).not.toBeNaN();
    expect(r.headers.get('x-request-id')).toBeTruthy();
  });

  it('echoes a sane X-Request-Id and replaces an unsafe one', async () => {
    expect(
      (await call(base, 'GET', '/api/health', { headers: { 'x-request-id': 'abc-123' } })).headers.get('x-request-id'),
    ).toBe('abc-123');
    expect(
      (await call(base, 'GET', '/api/health', { headers: { 'x-request-id': 'a b\tc' } })).headers.get('x-request-id'),
    ).not.toBe('a b\tc');
  });
});

describe('POST /api/warmup', () => {
  it('answers warmed_up with the time taken', async () => {
    const r = await call(base, 'POST', '/api/warmup');
    expect(r.status).toBe(200);
    expect(r.json.status).toBe('warmed_up');
    expect(typeof r.json.warmup_time_seconds).toBe('number');
    expect(Date.parse(r.json.timestamp)).not.toBeNaN();
  });
});

describe('POST /api/predict', () => {
  it('returns every contract field, stores the transaction and explains it exactly', async () => {
    const r = await call(base, 'POST', '/api/predict', { body: odd });
    expect(r.status).toBe(200);
    for (const f of PREDICT_FIELDS) {
      expect(r.json, f).toHaveProperty(f);
    }
    expect(r.json.is_anomaly).toBe(true);
    expect(r.json.is_fraudulent).toBe(true);
    expect(r.json.risk_level).toBe('highest');
    expect(Object.keys(r.json.shap_explanation)).toEqual(FEATURES);
    expect(r.json.risk_factors[0]).toMatchObject({ feature: expect.any(String), description: expect.any(String) });
    expect(Number.isInteger(r.json.transaction_id)).toBe(true);
    const stored = await call(base, 'GET', `/api/transactions/${r.json.transaction_id}`);
    expect(stored.status).toBe(200);
    expect(stored.json.anomaly_score).toBe(r.json.anomaly_score);
    expect(stored.json.shap_explanation).toEqual(r.json.shap_explanation);
  });

  it('scores a normal transaction as normal', async () => {
    const r = await call(base, 'POST', '/api/predict', { body: normal });
    expect(r.status).toBe(200);
    expect(r.json.is_anomaly).toBe(false);
    expect(r.json.risk_level).not.toBe('highest');
  });

  it('accepts the legacy shape and echoes the caller reference', async () => {
    const legacy = {
      amount: '120.00',
      timestamp: '2024-03-05T14:30:00Z',
      merchant: 'Coffee Shop',
      type: 'purchase',
      id: 'order-7',
    };
    const r = await call(base, 'POST', '/api/predict', { body: legacy });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ hour: 14, day_of_week: 1, transaction_type: 0, reference: 'order-7' });
    const again = await call(base, 'POST', '/api/predict', { body: legacy });
    expect(again.json.merchant_category).toBe(r.json.merchant_category);
  });

  it('names the field of an invalid transaction (400)', async () => {
    const r = await call(base, 'POST', '/api/predict', { body: { ...normal, hour: 25 } });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/hour/);
    expect(r.json.details.field).toBe('hour');
    const missing = await call(base, 'POST', '/api/predict', { body: { hour: 3 } });
    expect(missing.status).toBe(400);
    expect(missing.json.details.field).toBe('amount');
    const notObject = await call(base, 'POST', '/api/predict', { body: [1, 2] });
    expect(notObject.status).toBe(400);
    expect(notObject.json.details.field).toBe('transaction');
  });
});

describe('POST /api/predict-batch', () => {
  it('returns one result per input, in order, with errors by index, stored in one batch', async () => {
    const r = await call(base, 'POST', '/api/predict-batch', {
      body: { transactions: [normal, { amount: -1, hour: 1 }, odd, 'nope'] },
    });
    expect(r.status).toBe(200);
    expect(r.json.total_processed).toBe(4);
    expect(Date.parse(r.json.timestamp)).not.toBeNaN();
    const [a, bad, c, notObject] = r.json.results;
    expect(a).toMatchObject({ index: 0, is_anomaly: false });
    for (const f of [
      'transaction_id',
      'is_anomaly',
      'anomaly_score',
      'confidence',
      'shap_explanation',
      'risk_score',
      'risk_level',
    ])
      expect(a, f).toHaveProperty(f);
    expect(Object.keys(a.shap_explanation)).toEqual(FEATURES);
    expect(bad).toMatchObject({ index: 1, field: 'amount' });
    expect(bad.error).toMatch(/amount/);
    expect(c).toMatchObject({ index: 2, is_anomaly: true });
    expect(notObject).toMatchObject({ index: 3, field: 'transaction' });
    expect(c.transaction_id).toBe(a.transaction_id + 1);
    const list = await call(base, 'GET', `/api/transactions?batch_id=${r.json.batch_id}`);
    expect(list.json.pagination.total).toBe(2);
  });

  it('gives the same scores and explanations as /api/predict', async () => {
    const batch = await call(base, 'POST', '/api/predict-batch', { body: { transactions: [odd] } });
    const one = await call(base, 'POST', '/api/predict', { body: odd });
    const b = batch.json.results[0];
    expect(b.anomaly_score).toBe(one.json.anomaly_score);
    expect(b.risk_score).toBe(one.json.risk_score);
    for (const f of FEATURES) expect(b.shap_explanation[f]).toBeCloseTo(one.json.shap_explanation[f], 6);
  });

  it('takes CSV (text/csv) with line numbers, as secureflow score does', async () => {
    const csv = readFileSync(new URL('../../fixtures/bad-rows.csv', import.meta.url), 'utf8');
    const r = await call(base, 'POST', '/api/predict-batch', { raw: csv, contentType: 'text/csv' });
    expect(r.status).toBe(200);
    const rows = csv.trim().split('\n').length - 1;
    expect(r.json.results).toHaveLength(rows);
    const errors = r.json.results.filter((x: any) => x.error);
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) expect(e.line).toBeGreaterThan(1);
  });

  it('takes the original test file', async () => {
    const csv = readFileSync(new URL('../../fixtures/transactions.csv', import.meta.url), 'utf8');
    const r = await call(base, 'POST', '/api/predict-batch', { raw: csv, contentType: 'text/csv' });
    expect(r.status).toBe(200);
    expect(r.json.results).toHaveLength(10);
    expect(r.json.results.every((x: any) => typeof x.anomaly_score === 'number')).toBe(true);
  });

  it('answers 400 naming transactions when the list is missing or not an array, and for a CSV without feature columns', async () => {
    expect((await call(base, 'POST', '/api/predict-batch', { body: {} })).json.details.field).toBe('transactions');
    expect((await call(base, 'POST', '/api/predict-batch', { body: { transactions: 3 } })).status).toBe(400);
    const csv = await call(base, 'POST', '/api/predict-batch', { raw: 'a,b\n1,2\n', contentType: 'text/csv' });
    expect(csv.status).toBe(400);
    expect(csv.json.error).toMatch(/amount/);
  });
});

describe('POST /api/feedback', () => {
  it('records and then updates a verdict', async () => {
    const p = await call(base, 'POST', '/api/predict', { body: odd });
    const id = p.json.transaction_id;
    const first = await call(base, 'POST', '/api/feedback', {
      body: { transaction_id: id, feedback: true, comments: 'card stolen' },
    });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ transaction_id: id, feedback: true, message: expect.any(String) });
    const second = await call(base, 'POST', '/api/feedback', {
      body: { transaction_id: String(id), is_correct: false, notes: 'customer confirmed' },
    });
    expect(second.json).toMatchObject({ transaction_id: id, feedback: false, notes: 'customer confirmed' });
    const shown = await call(base, 'GET', `/api/transactions/${id}`);
    expect(shown.json.feedback).toMatchObject({ is_correct: false, notes: 'customer confirmed' });
  });

  it('answers 404 for an unknown id and 400 for a non-numeric one or a missing verdict', async () => {
    expect(
      (await call(base, 'POST', '/api/feedback', { body: { transaction_id: 999999, feedback: true } })).status,
    ).toBe(404);
    const nonNumeric = await call(base, 'POST', '/api/feedback', { body: { transaction_id: 'abc', feedback: true } });
    expect(nonNumeric.status).toBe(400);
    expect(nonNumeric.json.details.field).toBe('transaction_id');
    const noVerdict = await call(base, 'POST', '/api/feedback', { body: { transaction_id: 1 } });
    expect(noVerdict.status).toBe(400);
    expect(noVerdict.json.details.field).toBe('feedback');
    const notBool = await call(base, 'POST', '/api/feedback', { body: { transaction_id: 1, feedback: 'yes' } });
    expect(notBool.json.details.field).toBe('feedback');
  });
});

describe('GET /api/dashboard', () => {
  it('has the contract fields, with percentages rounded to 2 decimals', async () => {
    const r = await call(base, 'GET', '/api/dashboard?days=7');
    expect(r.status).toBe(200);
    expect(r.json.stats).toMatchObject({
      total_transactions: expect.any(Number),
      anomalies_detected: expect.any(Number),
      avg_anomaly_score: expect.any(Number),
      anomaly_rate: expect.any(Number),
    });
    expect(r.json.stats.total_transactions).toBeGreaterThan(0);
    expect(Math.round(r.json.stats.anomaly_rate * 100) / 100).toBe(r.json.stats.anomaly_rate);
    expect(r.json.hourly_distribution).toHaveLength(24);
    expect(r.json.hourly_distribution[0]).toEqual({
      hour: 0,
      total_transactions: expect.any(Number),
      anomalies: expect.any(Number),
    });
    expect(r.json.feedback).toMatchObject({
      total_feedback: expect.any(Number),
      positive_feedback: expect.any(Number),
      accuracy: expect.any(Number),
    });
    expect(Date.parse(r.json.generated_at)).not.toBeNaN();
    // Added fields (issue 15): every row of the window by decision, and the rules that fired most (none here).
    const d = r.json.decisions;
    expect(d.allow + d.review + d.block).toBe(r.json.stats.total_transactions);
    expect(r.json.top_rules).toEqual([]);
  });

  it('answers 400 for a bad days value', async () => {
    const r = await call(base, 'GET', '/api/dashboard?days=abc');
    expect(r.status).toBe(400);
    expect(r.json.details.field).toBe('days');
  });
});

describe('GET /api/transactions', () => {
  it('pages newest first with the contract fields', async () => {
    const r = await call(base, 'GET', '/api/transactions?page=1&per_page=2');
    expect(r.status).toBe(200);
    expect(r.json.transactions).toHaveLength(2);
    for (const f of [
      'id',
      'amount',
      'hour',
      'day_of_week',
      'merchant_category',
      'transaction_type',
      'anomaly_score',
      'is_anomaly',
      'shap_explanation',
      'timestamp',
    ]) {
      expect(r.json.transactions[0], f).toHaveProperty(f);
    }
    expect(r.json.transactions[0].id).toBeGreaterThan(r.json.transactions[1].id);
    const { total, pages, page, per_page } = r.json.pagination;
    expect({ page, per_page }).toEqual({ page: 1, per_page: 2 });
    expect(pages).toBe(Math.ceil(total / 2));
    const flagged = await call(base, 'GET', '/api/transactions?anomalies=true&per_page=100');
    expect(flagged.json.transactions.every((t: any) => t.is_anomaly)).toBe(true);
  });

  it('answers 404 for an unknown id and 400 for bad paging or a non-numeric id', async () => {
    expect((await call(base, 'GET', '/api/transactions/999999')).status).toBe(404);
    expect((await call(base, 'GET', '/api/transactions/abc')).json.details.field).toBe('id');
    expect((await call(base, 'GET', '/api/transactions?per_page=0')).json.details.field).toBe('per_page');
    expect((await call(base, 'GET', '/api/transactions?page=-1')).status).toBe(400);
  });
});

describe('GET /metrics', () => {
  it('exposes request latency, predictions, scoring latency, batch sizes, database errors and the model version', async () => {
    const r = await call(base, 'GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/plain/);
    for (const name of [
      'secureflow_http_request_duration_seconds_bucket{',
      'secureflow_predictions_total{verdict="anomaly"}',
      'secureflow_predictions_total{verdict="normal"}',
      'secureflow_scoring_duration_seconds_bucket{',
      'secureflow_batch_size_bucket{',
      'secureflow_database_errors_total',
      'secureflow_model_info{version="',
    ]) {
      expect(r.text, name).toContain(name);
    }
    expect(r.text).toMatch(/route="\/api\/predict",status_code="200"/);
  });
});
