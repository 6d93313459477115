/** API keys and roles against a real daemon; keys never reach the logs. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecureflowError } from '../../src/core/errors.js';
import { call, createKey, startTestServer, tempDb, type TestServer } from './server-helpers.js';

const tx = { amount: 10, hour: 12, day_of_week: 1, merchant_category: 2, transaction_type: 0 };

describe('with keys', () => {
  let server: TestServer;
  const keys: Record<string, string> = {};
  beforeAll(async () => {
    const db = tempDb();
    for (const role of ['admin', 'analyst', 'scorer', 'viewer'] as const) keys[role] = await createKey(db, role);
    server = await startTestServer({ db });
  });
  afterAll(() => server.close());
  const as = (role: string) => ({ authorization: `Bearer ${keys[role]}` });

  it('keeps health, readiness and metrics open', async () => {
    expect((await call(server.url, 'GET', '/api/health')).status).toBe(200);
    expect((await call(server.url, 'GET', '/api/ready')).status).toBe(200);
    expect((await call(server.url, 'GET', '/metrics')).status).toBe(200);
  });

  it('answers 401 without a key, with a malformed key, a wrong secret, or an unknown id', async () => {
    const none = await call(server.url, 'POST', '/api/predict', { body: tx });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(none.json.error).toMatch(/API key/);
    const id = keys.admin.split('_')[1];
    for (const bad of ['nonsense', `sf_${id}_${'A'.repeat(43)}`, `sf_99999_${'A'.repeat(43)}`]) {
      const r = await call(server.url, 'POST', '/api/predict', {
        body: tx,
        headers: { authorization: `Bearer ${bad}` },
      });
      expect(r.status, bad).toBe(401);
    }
  });

  it('accepts Authorization: Bearer and X-API-Key', async () => {
    expect((await call(server.url, 'POST', '/api/predict', { body: tx, headers: as('scorer') })).status).toBe(200);
    expect(
      (await call(server.url, 'POST', '/api/predict', { body: tx, headers: { 'x-api-key': keys.scorer } })).status,
    ).toBe(200);
  });

  it('gives each role exactly its permissions (403 otherwise)', async () => {
    const p = await call(server.url, 'POST', '/api/predict', { body: tx, headers: as('admin') });
    const id = p.json.transaction_id;
    const requests = {
      predict: ['POST', '/api/predict', tx],
      batch: ['POST', '/api/predict-batch', { transactions: [tx] }],
      feedback: ['POST', '/api/feedback', { transaction_id: id, feedback: true }],
      dashboard: ['GET', '/api/dashboard', undefined],
      list: ['GET', '/api/transactions', undefined],
      show: ['GET', `/api/transactions/${id}`, undefined],
    } as const;
    const allowed: Record<string, string[]> = {
      admin: ['predict', 'batch', 'feedback', 'dashboard', 'list', 'show'],
      analyst: ['predict', 'batch', 'feedback', 'dashboard', 'list', 'show'],
      scorer: ['predict', 'batch'],
      viewer: ['dashboard', 'list', 'show'],
    };
    for (const role of Object.keys(allowed)) {
      for (const [name, [method, path, body]] of Object.entries(requests)) {
        const r = await call(server.url, method, path, { body, headers: as(role) });
        if (allowed[role].includes(name)) expect(r.status, `${role} ${name}`).toBe(200);
        else {
          expect(r.status, `${role} ${name}`).toBe(403);
          expect(r.json.error).toMatch(new RegExp(role));
        }
      }
    }
  });

  it('never writes a key to the logs', async () => {
    await call(server.url, 'POST', '/api/predict', { body: tx, headers: { 'x-api-key': keys.viewer } });
    await call(server.url, 'GET', '/api/transactions', { headers: as('analyst') });
    const text = server.logs.join('\n');
    expect(server.logs.length).toBeGreaterThan(5);
    for (const key of Object.values(keys)) {
      expect(text).not.toContain(key);
      expect(text).not.toContain(key.slice(key.indexOf('_', 3) + 1));
    }
    // Every request's lines carry its id.
    const requestLines = server.logs.map((l) => JSON.parse(l)).filter((l) => l.req || l.res);
    expect(requestLines.length).toBeGreaterThan(0);
    for (const line of requestLines) expect(line.reqId).toBeTruthy();
  });

  it('stops accepting a revoked key (after the cache expires)', async () => {
    const { openStore, resolveDatabase } = await import('../../src/db/open-store.js');
    const key = await createKey(server.dbPath, 'scorer', 'to revoke');
    const store = await openStore(resolveDatabase(server.dbPath, {}));
    await store.revokeKey(Number(key.split('_')[1]));
    await store.close();
    // Never seen before, so not cached: refused at once.
    expect(
      (await call(server.url, 'POST', '/api/predict', { body: tx, headers: { authorization: `Bearer ${key}` } }))
        .status,
    ).toBe(401);
  });
});

describe('an address held back after failed keys', () => {
  it('checks a new key on its third try (a client retrying), never a key that failed lately', async () => {
    const db = tempDb();
    const key = await createKey(db, 'scorer');
    const server = await startTestServer({ db });
    try {
      const send = async (k: string) =>
        (await call(server.url, 'POST', '/api/predict', { body: tx, headers: { authorization: `Bearer ${k}` } }))
          .status;
      const bogus = (i: number) => `sf_${90_000 + i}_${'B'.repeat(42)}${i % 10}`;
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push(await send(bogus(i)));
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
      expect(statuses.slice(10)).toEqual([429, 429]); // held back, before any lookup
      // The real key, new here: refused twice, checked the third time, then served (and cached).
      expect([await send(key), await send(key), await send(key), await send(key)]).toEqual([429, 429, 200, 200]);
      // A made-up key repeated: checked once on its third try (401), then held back again.
      const repeated = 'sf_91234_' + 'C'.repeat(43);
      expect([await send(repeated), await send(repeated), await send(repeated), await send(repeated)]).toEqual([
        429, 429, 401, 429,
      ]);
    } finally {
      await server.close();
    }
  });
});

describe('starting up', () => {
  it('refuses a public address without keys, naming the fix', async () => {
    await expect(startTestServer({ host: '0.0.0.0' })).rejects.toThrow(SecureflowError);
    await expect(startTestServer({ host: '0.0.0.0' })).rejects.toThrow(/keys create.*--no-auth/);
  });

  it('serves a public address with --no-auth, open to all', async () => {
    const s = await startTestServer({ host: '0.0.0.0', noAuth: true });
    try {
      const port = new URL(s.url).port;
      expect((await call(`http://127.0.0.1:${port}`, 'POST', '/api/predict', { body: tx })).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('serves loopback without keys open, and requires keys once one exists', async () => {
    const s = await startTestServer();
    try {
      expect((await call(s.url, 'POST', '/api/predict', { body: tx })).status).toBe(200);
      expect(s.logs.some((l) => /no API keys exist/.test(l))).toBe(true);
    } finally {
      await s.close();
    }
    const db = tempDb();
    await createKey(db, 'viewer');
    const locked = await startTestServer({ db });
    try {
      expect((await call(locked.url, 'POST', '/api/predict', { body: tx })).status).toBe(401);
    } finally {
      await locked.close();
    }
  });
});
