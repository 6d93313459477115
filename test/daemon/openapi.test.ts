/**
 * The contract in code: the BUILT daemon (bin/secureflow serve) serves OpenAPI 3 at /api/openapi.json without
 * a key, the document describes every route the app registers, and every answer the contract tests rely on
 * validates against its route's schema, with no field the schema does not name.
 */
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnDaemon, type DaemonProcess } from '../cli/daemon-process.js';
import { call, createKey, startTestServer, tempDb, type TestServer } from './server-helpers.js';

let daemon: DaemonProcess;
let keyed: DaemonProcess;
let inProcess: TestServer;
let key: string;
interface Operation {
  security?: unknown;
  responses: Record<string, { content: Record<string, { schema: object }> }>;
}
/** The parts of the OpenAPI document these tests read. */
let doc: { openapi: string; paths: Record<string, Record<string, Operation>> };
beforeAll(async () => {
  const db = tempDb();
  key = await createKey(db, 'admin');
  [daemon, keyed, inProcess] = await Promise.all([
    spawnDaemon(['--db', tempDb()]),
    spawnDaemon(['--db', db]),
    startTestServer(),
  ]);
  doc = (await call(daemon.url, 'GET', '/api/openapi.json')).json;
}, 60_000);
afterAll(async () => {
  await Promise.all([daemon?.stop(), keyed?.stop(), inProcess?.close()]);
});

/** Every method and path the app registers, from Fastify's own route tree. */
function appRoutes(): { method: string; path: string }[] {
  const stack: string[] = [];
  const out: { method: string; path: string }[] = [];
  for (const line of inProcess.app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[└├]── (\S+)(?: \(([A-Z, ]+)\))?/.exec(line);
    if (!m) continue;
    const depth = [...m[1]].length / 4;
    stack.length = depth;
    stack.push(m[2]);
    for (const method of m[3]?.split(', ') ?? []) out.push({ method, path: stack.join('') });
  }
  return out;
}

/** The document's schema for a route's answer, made strict: an object may hold only the fields it names. */
function responseSchema(method: string, path: string, status: number): object {
  const responses = doc.paths[path]?.[method.toLowerCase()]?.responses;
  expect(responses, `${method} ${path} is described`).toBeTruthy();
  const response = responses[String(status)] ?? responses[`${String(status)[0]}XX`];
  expect(response, `${method} ${path} describes status ${status}`).toBeTruthy();
  return strict(response.content['application/json'].schema) as object;
}

function strict(schema: unknown, name = ''): unknown {
  if (Array.isArray(schema)) return schema.map((s) => strict(s));
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema))
    out[k] =
      k === 'properties'
        ? Object.fromEntries(Object.entries(v as object).map(([p, s]) => [p, strict(s, p)]))
        : strict(v);
  // details (per error) and explanation (stored JSON) are open by design; everything else names all its fields.
  const properties = (schema as { properties?: object }).properties;
  if (properties && Object.keys(properties).length > 0 && !['details', 'explanation'].includes(name))
    out.additionalProperties = false;
  return out;
}

const ajv = new Ajv({ strict: false, allErrors: true });
async function expectValid(
  method: string,
  url: string,
  path: string,
  opts: Parameters<typeof call>[3] = {},
  base = daemon.url,
) {
  const r = await call(base, method, url, opts);
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  const validate = ajv.compile(responseSchema(method, path, r.status));
  expect(validate(r.json) ? [] : validate.errors, `${method} ${url} → ${r.status}`).toEqual([]);
  return r;
}

const odd = { amount: 4800, hour: 3, day_of_week: 6, merchant_category: 9, transaction_type: 2 };
const normal = { amount: 42.5, hour: 14, day_of_week: 2, merchant_category: 3, transaction_type: 0 };

describe('GET /api/openapi.json', () => {
  it('is served by the built daemon as OpenAPI 3, open without a key while the API itself needs one', async () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    const open = await call(keyed.url, 'GET', '/api/openapi.json');
    expect(open.status).toBe(200);
    expect(open.json).toEqual(doc);
    expect((await call(keyed.url, 'GET', '/api/transactions')).status).toBe(401);
    expect(
      (await call(keyed.url, 'GET', '/api/transactions', { headers: { authorization: `Bearer ${key}` } })).status,
    ).toBe(200);
    expect(doc.paths['/api/predict'].post.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
    expect(doc.paths['/api/health'].get.security).toBeUndefined();
  });

  it('describes every route the app registers, each with a success answer (201 for a rule added)', () => {
    const routes = appRoutes().filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS');
    expect(routes.length).toBeGreaterThanOrEqual(11);
    for (const { method, path } of routes) {
      const described = doc.paths[path.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
      expect(described, `${method} ${path}`).toBeTruthy();
      expect(described.responses['200'] ?? described.responses['201'], `${method} ${path}`).toBeTruthy();
    }
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`).sort());
  });
});

describe('the contract answers validate against their schemas (built daemon)', () => {
  it('health, readiness, warm-up and the document itself', async () => {
    await expectValid('GET', '/api/health', '/api/health');
    await expectValid('GET', '/api/ready', '/api/ready');
    await expectValid('POST', '/api/warmup', '/api/warmup');
    await expectValid('GET', '/api/openapi.json', '/api/openapi.json');
  });

  it('scoring one transaction (canonical, legacy, unstored) and its errors', async () => {
    const scored = await expectValid('POST', '/api/predict', '/api/predict', { body: odd });
    expect(scored.json).toMatchObject({ ...odd, is_anomaly: true, risk_level: 'highest' });
    expect(Object.keys(scored.json.shap_explanation)).toEqual(Object.keys(odd));
    const legacy = {
      amount: '120.00',
      timestamp: '2024-03-05T14:30:00Z',
      merchant: 'Coffee Shop',
      type: 'purchase',
      id: 'order-7',
    };
    expect((await expectValid('POST', '/api/predict', '/api/predict', { body: legacy })).json.reference).toBe(
      'order-7',
    );
    expect(
      (await expectValid('POST', '/api/predict?store=false', '/api/predict', { body: normal })).json.transaction_id,
    ).toBeNull();
    const bad = await expectValid('POST', '/api/predict', '/api/predict', { body: { ...odd, hour: 24 } });
    expect(bad.status).toBe(400);
    expect(bad.json.details.field).toBe('hour');
    expect(
      (
        await expectValid('POST', '/api/predict', '/api/predict', {
          raw: '{"amount":',
          contentType: 'application/json',
        })
      ).status,
    ).toBe(400);
  });

  it('batches as JSON and CSV, with a row that cannot be read', async () => {
    const json = await expectValid('POST', '/api/predict-batch', '/api/predict-batch', {
      body: { transactions: [odd, { ...normal, amount: 'x' }, normal] },
    });
    expect(json.json).toMatchObject({ total_processed: 3, scored: 2, errors: 1 });
    expect(json.json.results[1]).toMatchObject({ index: 1, field: 'amount' });
    await expectValid('POST', '/api/predict-batch?explain=false&store=false', '/api/predict-batch', { body: [odd] });
    const csv = 'amount,hour,day_of_week,merchant_category,transaction_type\n42.5,14,2,3,0\n4800,3,6,9,2\n';
    expect(
      (await expectValid('POST', '/api/predict-batch', '/api/predict-batch', { raw: csv, contentType: 'text/csv' }))
        .json.scored,
    ).toBe(2);
    expect(
      (await expectValid('POST', '/api/predict-batch', '/api/predict-batch', { body: { transactions: 5 } })).json
        .details.field,
    ).toBe('transactions');
  });

  it('feedback, the dashboard and stored transactions', async () => {
    const id = (await call(daemon.url, 'POST', '/api/predict', { body: odd })).json.transaction_id;
    const first = await expectValid('POST', '/api/feedback', '/api/feedback', {
      body: { transaction_id: id, feedback: true, comments: 'checked' },
    });
    expect(first.json).toMatchObject({
      message: 'feedback recorded',
      transaction_id: id,
      feedback: true,
      previous: null,
    });
    const second = await expectValid('POST', '/api/feedback', '/api/feedback', {
      body: { transaction_id: String(id), is_correct: false },
    });
    expect(second.json.previous).toMatchObject({ feedback: true, notes: 'checked' });
    expect(
      (
        await expectValid('POST', '/api/feedback', '/api/feedback', {
          body: { transaction_id: 999999, feedback: true },
        })
      ).status,
    ).toBe(404);
    expect(
      (await expectValid('POST', '/api/feedback', '/api/feedback', { body: { transaction_id: 'abc', feedback: true } }))
        .status,
    ).toBe(400);
    const dash = await expectValid('GET', '/api/dashboard?days=7', '/api/dashboard');
    expect(dash.json.recent_flagged.length).toBeGreaterThan(0);
    expect((await expectValid('GET', '/api/dashboard?days=0', '/api/dashboard')).json.details.field).toBe('days');
    const page = await expectValid('GET', '/api/transactions?page=1&per_page=5', '/api/transactions');
    expect(page.json.transactions.length).toBe(5);
    await expectValid('GET', '/api/transactions?anomalies=true&limit=2', '/api/transactions');
    const one = await expectValid('GET', `/api/transactions/${id}`, '/api/transactions/{id}');
    expect(one.json.feedback).toMatchObject({ is_correct: false });
    expect((await expectValid('GET', '/api/transactions/999999', '/api/transactions/{id}')).status).toBe(404);
    expect((await expectValid('GET', '/api/transactions/abc', '/api/transactions/{id}')).json.details.field).toBe('id');
    expect((await expectValid('GET', '/api/transactions', '/api/transactions', {}, keyed.url)).status).toBe(401);
  });

  it('risk rules: list, add, show, change, backtest, remove and their errors', async () => {
    const body = { name: 'contract-rule', expression: 'amount > 3000 && hour < 5', action: 'block' };
    const added = await expectValid('POST', '/api/rules', '/api/rules', { body });
    expect(added.status).toBe(201);
    expect((await expectValid('POST', '/api/rules', '/api/rules', { body })).status).toBe(409);
    const bad = await expectValid('POST', '/api/rules', '/api/rules', { body: { ...body, expression: 'amount >' } });
    expect(bad.status).toBe(400);
    expect(bad.json.details).toMatchObject({ field: 'expression', position: { line: 1 } });
    expect((await expectValid('GET', '/api/rules', '/api/rules')).json.total).toBeGreaterThan(0);
    const changed = await expectValid('PATCH', '/api/rules/contract-rule', '/api/rules/{name}', {
      body: { enabled: false, description: 'checked' },
    });
    expect(changed.json).toMatchObject({ enabled: false, description: 'checked' });
    const test = await expectValid('POST', '/api/rules/test', '/api/rules/test', {
      body: { name: 'contract-rule', since: '30d' },
    });
    expect(test.json.rows).toBeGreaterThan(0);
    await expectValid('POST', '/api/rules/test', '/api/rules/test', { body: { when: 'merchant == "x"' } });
    expect((await expectValid('DELETE', '/api/rules/contract-rule', '/api/rules/{name}')).status).toBe(200);
    const shown = await expectValid('GET', '/api/rules/contract-rule', '/api/rules/{name}');
    expect(shown.json.rule).toBeNull();
    expect(shown.json.history.map((h: { change: string }) => h.change)).toEqual([
      'added',
      'changed',
      'disabled',
      'removed',
    ]);
    expect((await expectValid('GET', '/api/rules/none', '/api/rules/{name}')).status).toBe(404);
    expect((await expectValid('GET', '/api/rules', '/api/rules', {}, keyed.url)).status).toBe(401);
  });

  it('metrics are described as text', async () => {
    const r = await call(daemon.url, 'GET', '/metrics');
    expect(r.status).toBe(200);
    expect(Object.keys(doc.paths['/metrics'].get.responses['200'].content)).toEqual(['text/plain']);
  });
});

describe('the schemas validate requests', () => {
  it("refuses what only the schema checks with a 400 naming the field, in the routes' words", async () => {
    const r = await expectValid('POST', '/api/predict-batch?strict=maybe', '/api/predict-batch', {
      body: { transactions: [odd] },
    });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ error: 'strict must be true or false, got "maybe"', details: { field: 'strict' } });
    const notes = await expectValid('POST', '/api/feedback', '/api/feedback', {
      body: { transaction_id: 1, feedback: true, is_correct: 'yes' },
    });
    expect(notes.status).toBe(400);
    expect(notes.json.details.field).toBe('is_correct');
    expect(notes.json.error).toBe('is_correct must be true or false, got "yes"');
  });
});
