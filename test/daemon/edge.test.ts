/** Validation at the edge: limits, malformed bodies, unknown routes, CORS, and a bounded fuzz with no 5xx. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRandom } from '../../src/model/random.js';
import { call, startTestServer, type TestServer } from './server-helpers.js';

let server: TestServer;
let base: string;
beforeAll(async () => {
  server = await startTestServer({ bodyLimit: 64 * 1024, batchLimit: 50 });
  base = server.url;
});
afterAll(() => server.close());

const tx = { amount: 10, hour: 12, day_of_week: 1, merchant_category: 2, transaction_type: 0 };

describe('bad requests', () => {
  it('answers 400 JSON for malformed JSON and an empty body', async () => {
    const r = await call(base, 'POST', '/api/predict', { raw: '{"amount": 10,' });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/JSON/);
    const empty = await call(base, 'POST', '/api/predict', { raw: '' });
    expect(empty.status).toBe(400);
    expect(empty.json.error).toMatch(/empty/);
  });

  it('answers 413 with the limit for a body over it, and for too many transactions', async () => {
    const big = { transactions: Array.from({ length: 2000 }, () => tx) };
    const r = await call(base, 'POST', '/api/predict-batch', { body: big });
    expect(r.status).toBe(413);
    expect(r.json.details.limit_bytes).toBe(64 * 1024);
    const many = await call(base, 'POST', '/api/predict-batch', {
      body: { transactions: Array.from({ length: 51 }, () => tx) },
    });
    expect(many.status).toBe(413);
    expect(many.json.error).toMatch(/51.*50/);
    const csv = `amount,hour,day_of_week,merchant_category\n${'1,2,3,4\n'.repeat(51)}`;
    expect((await call(base, 'POST', '/api/predict-batch', { raw: csv, contentType: 'text/csv' })).status).toBe(413);
  });

  it('answers 415 for an unsupported content type', async () => {
    const r = await call(base, 'POST', '/api/predict', {
      raw: 'amount=10',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(r.status).toBe(415);
    expect(r.json.error).toMatch(/content type/);
  });

  it('answers 404 JSON for an unknown route or method', async () => {
    const r = await call(base, 'GET', '/api/nothing');
    expect(r.status).toBe(404);
    expect(r.json.error).toMatch(/not found: GET \/api\/nothing/);
    expect((await call(base, 'DELETE', '/api/predict')).status).toBe(404);
  });

  it('refuses prototype pollution attempts with a 400', async () => {
    const r = await call(base, 'POST', '/api/predict', {
      raw: '{"amount":1,"hour":1,"day_of_week":1,"merchant_category":1,"__proto__":{"x":1}}',
    });
    expect(r.status).toBe(400);
  });
});

describe('CORS', () => {
  it('lets the front end dev server (http://localhost:3000) preflight and call by default', async () => {
    const pre = await fetch(`${base}/api/predict`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:3000',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(pre.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(pre.headers.get('access-control-allow-headers')?.toLowerCase()).toMatch(/authorization/);
    const get = await fetch(`${base}/api/health`, { headers: { origin: 'http://localhost:3000' } });
    expect(get.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
  });

  it('does not allow other origins by default', async () => {
    const pre = await fetch(`${base}/api/predict`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows configured origins, or any with *', async () => {
    const s = await startTestServer({ corsOrigins: ['https://app.example'] });
    const any = await startTestServer({ corsOrigins: ['*'] });
    try {
      const ok = await fetch(`${s.url}/api/health`, { headers: { origin: 'https://app.example' } });
      expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example');
      const local = await fetch(`${s.url}/api/health`, { headers: { origin: 'http://localhost:3000' } });
      expect(local.headers.get('access-control-allow-origin')).toBeNull();
      const star = await fetch(`${any.url}/api/health`, { headers: { origin: 'https://whatever.example' } });
      expect(star.headers.get('access-control-allow-origin')).toBe('*');
    } finally {
      await s.close();
      await any.close();
    }
  });
});

describe('fuzz', () => {
  // Deterministic: the same seed sends the same 400 bodies every run.
  const random = createRandom(20261124);
  const pick = <T>(xs: T[]): T => xs[Math.floor(random.nextFloat() * xs.length)];
  const values: unknown[] = [
    null,
    true,
    false,
    0,
    -1,
    1e308,
    -1e-308,
    3.5,
    '',
    ' ',
    'abc',
    '12',
    '1e3',
    '0x10',
    'NaN',
    'Infinity',
    [],
    {},
    [1],
    { a: 1 },
    '\u0000',
    '2024-13-45T99:99',
    '😀'.repeat(50),
  ];
  const fields = [
    'amount',
    'hour',
    'day_of_week',
    'merchant_category',
    'transaction_type',
    'timestamp',
    'merchant',
    'category',
    'type',
    'id',
    'transactions',
    'transaction_id',
    'feedback',
    'comments',
    '__proto__',
    'constructor',
  ];
  const randomValue = (depth = 0): unknown => {
    if (depth < 2 && random.nextFloat() < 0.2) {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < 1 + Math.floor(random.nextFloat() * 6); i++) o[pick(fields)] = randomValue(depth + 1);
      return random.nextFloat() < 0.3 ? [o, randomValue(depth + 1)] : o;
    }
    return pick(values);
  };
  const randomBody = (): string => {
    const r = random.nextFloat();
    if (r < 0.6) return JSON.stringify(randomValue());
    const text = JSON.stringify(randomValue()) ?? 'null';
    const cut = Math.floor(random.nextFloat() * (text.length + 1));
    return r < 0.8
      ? text.slice(0, cut)
      : text.slice(0, cut) + pick(['{', '}', '"', ',', '\\', ']', '\u0000', 'garbage']) + text.slice(cut);
  };

  it('never answers 5xx to 400 random bodies on every POST route', async () => {
    const routes = ['/api/predict', '/api/predict-batch', '/api/feedback', '/api/warmup'];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 400; i++) {
      const route = routes[i % routes.length];
      const body = randomBody();
      const csv = route === '/api/predict-batch' && random.nextFloat() < 0.25;
      const r = await call(base, 'POST', route, {
        raw: csv ? `amount,hour,day_of_week,merchant_category\n${body}\n` : body,
        contentType: csv ? 'text/csv' : 'application/json',
      });
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      expect(r.status, `${route} ${body}`).toBeLessThan(500);
      expect(r.json, `${route} ${body}: JSON answer`).not.toBeNull();
      if (r.status >= 400) expect(typeof r.json.error).toBe('string');
    }
    expect(statuses.get(400)).toBeGreaterThan(50); // the fuzz really reached validation
  });

  it('never answers 5xx to random query strings', async () => {
    for (let i = 0; i < 100; i++) {
      const q = `page=${encodeURIComponent(String(pick(values)))}&per_page=${encodeURIComponent(String(pick(values)))}&days=${encodeURIComponent(String(pick(values)))}&anomalies=${encodeURIComponent(String(pick(values)))}&since=${encodeURIComponent(String(pick(values)))}`;
      for (const path of [
        '/api/transactions',
        '/api/dashboard',
        `/api/transactions/${encodeURIComponent(String(pick(values)))}`,
      ]) {
        const r = await call(base, 'GET', `${path}?${q}`);
        expect(r.status, `${path}?${q}`).toBeLessThan(500);
      }
    }
  });
});
