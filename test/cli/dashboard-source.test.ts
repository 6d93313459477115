/** The dashboard's two data sources give one snapshot shape: the local store, and a real daemon over HTTP. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localSource } from '../../src/cli/dashboard/local-source.js';
import { remoteSource } from '../../src/cli/dashboard/remote-source.js';
import { call, createKey, startTestServer, type TestServer } from '../daemon/server-helpers.js';

let server: TestServer;
let key: string;
const odd = { amount: 4800, hour: 3, day_of_week: 6, merchant_category: 9, transaction_type: 2 };
const normal = { amount: 42, hour: 14, day_of_week: 2, merchant_category: 3, transaction_type: 0 };

beforeAll(async () => {
  server = await startTestServer();
  key = await createKey(server.dbPath, 'analyst');
  const headers = { authorization: `Bearer ${key}` };
  // Two rules, applied to the scores below: the dashboard's decisions and rules firing most.
  const admin = { authorization: `Bearer ${await createKey(server.dbPath, 'admin')}` };
  for (const rule of [
    { name: 'big-amount', expression: 'amount > 5000', action: 'block' },
    { name: 'night', expression: 'hour < 5', action: 'review' },
  ])
    expect((await call(server.url, 'POST', '/api/rules', { body: rule, headers: admin })).status).toBe(201);
  await call(server.url, 'POST', '/api/predict-batch', {
    body: { transactions: [odd, normal, normal, { ...odd, amount: 9000 }] },
    headers,
  });
  await call(server.url, 'POST', '/api/predict-batch', {
    raw: 'amount,hour,day_of_week,merchant_category\n7000,2,6,9\n',
    contentType: 'text/csv',
    headers,
  });
});
afterAll(() => server.close());

const comparable = (s: any) => ({
  ...s,
  source: undefined,
  generated_at: undefined,
  since: undefined,
  throughput: s.throughput.map((b: any) => ({ total: b.total, anomalies: b.anomalies })),
});

describe('dashboard sources', () => {
  it('give the same snapshot locally and through the daemon', async () => {
    const local = localSource(server.dbPath);
    const remote = remoteSource(server.url, key);
    try {
      const [a, b] = [await local.snapshot(7), await remote.snapshot(7)];
      expect(a.source).toMatch(/^sqlite /);
      expect(b.source).toBe(server.url);
      expect(comparable(b)).toEqual(comparable(a));
      expect(a.stats.total_transactions).toBe(5);
      expect(a.risk_levels.highest).toBe(a.stats.anomalies_detected);
      expect(a.risk_levels.normal + a.risk_levels.elevated + a.risk_levels.highest).toBe(5);
      expect(a.throughput).toHaveLength(48);
      expect(a.recent_flagged.length).toBe(a.stats.anomalies_detected);
      // Newest first; a row stored without an explanation (the CSV batch) still has its top factor.
      expect(a.recent_flagged[0].amount).toBe(7000);
      for (const f of a.recent_flagged) expect(f.top_factor?.description).toMatch(/\w/);
      expect(a.model_version).toBe(b.model_version);
      // The drift line's figures, the same from both (the same rows, model and bins).
      expect(a.drift).toMatchObject({ days: 7, rows: 5 });
      expect(b.drift).toEqual(a.drift);
      // Decisions (block wins over review; the two plain rows no rule matched are allowed) and the rules that
      // fired most, from both sources: the remote one reads GET /api/dashboard's decisions and top_rules.
      expect(a.decisions).toEqual({ allow: 2, review: 1, block: 2 });
      expect(a.top_rules).toEqual([
        { name: 'night', action: 'review', matches: 3 },
        { name: 'big-amount', action: 'block', matches: 2 },
      ]);
      expect(b.decisions).toEqual(a.decisions);
      expect(b.top_rules).toEqual(a.top_rules);
    } finally {
      await local.close();
    }
  });

  it('open a transaction and record feedback the same way', async () => {
    const local = localSource(server.dbPath);
    const remote = remoteSource(server.url, key);
    try {
      const id = (await local.snapshot(7)).recent_flagged[0].id;
      const [a, b] = [await local.transaction(id), await remote.transaction(id)];
      expect(b).toEqual(a);
      expect(Object.keys(a.shap_explanation)).toHaveLength(5);
      await remote.feedback(id, true);
      expect((await local.transaction(id)).feedback?.is_correct).toBe(true);
      await local.feedback(id, false);
      expect((await remote.transaction(id)).feedback?.is_correct).toBe(false);
      expect((await remote.snapshot(7)).recent_flagged.find((f) => f.id === id)?.feedback).toBe(false);
      await expect(remote.transaction(999999)).rejects.toThrow(/not found/);
      await expect(local.transaction(999999)).rejects.toThrow(/not found/);
    } finally {
      await local.close();
    }
  });

  it('fail with a clear error when the daemon is gone or the key is refused', async () => {
    await expect(remoteSource('http://127.0.0.1:9', key).snapshot(7)).rejects.toThrow(/cannot reach the daemon/);
    await expect(remoteSource(server.url, null).snapshot(7)).rejects.toThrow(/API key/);
  });
});
