import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { driftOfFiles } from '../../src/core/drift-files.js';
import { loadModel } from '../../src/core/model-source.js';
import type { DaemonState } from '../../src/daemon/daemon-state.js';
import { DRIFT_REFRESH_MS, StoredDriftCache } from '../../src/core/drift-cache.js';
import { DriftGauges } from '../../src/daemon/drift-metrics.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import type { Store } from '../../src/db/store.js';
import { call, startTestServer, tempDb, type TestServer } from './server-helpers.js';

const labelled = new URL('../../fixtures/labelled.csv', import.meta.url);
const sample = readFileSync(labelled, 'utf8');
/** The sample with every amount x10 and every transaction at 3 am. */
const shifted = (() => {
  const [header, ...rows] = sample.trim().split('\n');
  const moved = rows.map((row) => {
    const cells = row.split(',');
    cells[0] = String(Number(cells[0]) * 10);
    cells[1] = '3';
    return cells.join(',');
  });
  return `${[header, ...moved].join('\n')}\n`;
})();

/** The drift gauges of a /metrics page: feature -> PSI, and the other two. */
function driftOf(text: string) {
  const psi = Object.fromEntries(
    [...text.matchAll(/^secureflow_drift_psi\{feature="(\w+)"\} (\S+)$/gm)].map((m) => [m[1], Number(m[2])]),
  );
  const drifted = /^secureflow_drift_drifted (\S+)$/m.exec(text)?.[1];
  const rows = /^secureflow_drift_rows\{days="(\d+)"\} (\S+)$/m.exec(text);
  return {
    psi,
    drifted: drifted === undefined ? undefined : Number(drifted),
    days: rows?.[1],
    rows: Number(rows?.[2]),
  };
}

let servers: TestServer[] = [];
afterEach(async () => {
  for (const s of servers) await s.close();
  servers = [];
});

/** A daemon over `db`; a new one has no cached figures. */
async function daemon(db: string, driftDays?: number): Promise<TestServer> {
  const s = await startTestServer({ db, ...(driftDays ? { driftDays } : {}) });
  servers.push(s);
  return s;
}

async function metricsOf(s: TestServer) {
  const r = await call(s.app, 'GET', '/metrics');
  expect(r.status).toBe(200);
  return driftOf(r.text);
}

describe('/metrics drift gauges over stored traffic', () => {
  it('no traffic: rows 0 for the window, no PSI, not drifted', async () => {
    const m = await metricsOf(await daemon(tempDb(), 30));
    expect(m).toEqual({ psi: {}, drifted: 0, days: '30', rows: 0 });
  });

  it('stored traffic gives the same PSI as secureflow drift on the same file; a shift shows as drifted', async () => {
    const db = tempDb();
    const first = await daemon(db);
    const stored = await call(first.app, 'POST', '/api/predict-batch?explain=false', {
      raw: sample,
      contentType: 'text/csv',
    });
    expect(stored.status).toBe(200);
    const m = await metricsOf(first);
    expect(m.rows).toBe(1100);
    expect(m.days).toBe('7');
    expect(m.drifted).toBe(0);
    expect(Object.keys(m.psi)).toEqual([
      'amount',
      'hour',
      'day_of_week',
      'merchant_category',
      'transaction_type',
      'anomaly_score',
    ]);
    // The database counted into the same bins as the file reader does: the same figures.
    const { model } = loadModel();
    const file = (await driftOfFiles([labelled.pathname], model, {}, Readable.from([]))).counter.report();
    for (const f of file.features) expect(m.psi[f.name]).toBeCloseTo(f.psi, 12);
    expect(m.psi.anomaly_score).toBeCloseTo(file.score.psi, 12);
    // The dashboard's drift panel: the same figures over its own window, from the same cache.
    const dashboard = await call(first.app, 'GET', '/api/dashboard?days=7');
    expect(dashboard.status).toBe(200);
    expect(dashboard.json.drift).toMatchObject({ days: 7, rows: 1100, scored_rows: 1100, drifted: false });
    expect(dashboard.json.drift.features.map((f: { psi: number }) => f.psi)).toEqual(
      file.features.map((f) => m.psi[f.name]),
    );
    expect(dashboard.json.drift.score.band).toBe('stable');
    expect((await call(first.app, 'GET', '/api/dashboard?days=1')).json.drift.rows).toBe(1100);

    await call(first.app, 'POST', '/api/predict-batch?explain=false', { raw: shifted, contentType: 'text/csv' });
    // Within the refresh interval the figures are the ones computed; a new daemon computes afresh.
    expect((await metricsOf(first)).rows).toBe(1100);
    await first.close();
    servers = servers.filter((s) => s !== first);
    const after = await metricsOf(await daemon(db));
    expect(after.rows).toBe(2200);
    expect(after.drifted).toBe(1);
    expect(after.psi.hour).toBeGreaterThanOrEqual(0.25);
    expect(after.psi.day_of_week).toBeLessThan(0.1);
  });
});

describe('DriftGauges and StoredDriftCache', () => {
  it('recomputes at most once per interval (and at once for a new model); the database down keeps the last figures', async () => {
    const { model } = loadModel();
    let calls = 0;
    let down = false;
    const store = {
      async *trafficSlices() {
        calls++;
        // Ten rows at noon on a Wednesday, all scored by the model: far from its training mix.
        const features = new Float64Array(50);
        for (let r = 0; r < 10; r++) features.set([20, 12, 2, 1, 0], r * 5);
        yield {
          count: 10,
          features,
          anomalyScores: new Float64Array(10).fill(0.45),
          scoredBy: new Uint8Array(10).fill(1),
        };
      },
    } as unknown as Store;
    const db = {
      model,
      status: 'connected',
      async run<T>(fn: (s: Store) => Promise<T>): Promise<T> {
        if (down) throw new Error('the database is not connected');
        return fn(store);
      },
    } as unknown as DaemonState;
    let now = 1_000_000;
    const metrics = new DaemonMetrics();
    const gauges = new DriftGauges(metrics, db, 7, new StoredDriftCache(() => now));
    await Promise.all([gauges.refresh(), gauges.refresh()]);
    expect(calls).toBe(1);
    now += DRIFT_REFRESH_MS - 1;
    await gauges.refresh();
    expect(calls).toBe(1);
    now += 1;
    await gauges.refresh();
    expect(calls).toBe(2);
    const text = await metrics.registry.metrics();
    expect(driftOf(text)).toMatchObject({ rows: 10, drifted: 1 });
    // A query that fails (the database went away under it) and a database known to be down: the last figures stay.
    down = true;
    now += DRIFT_REFRESH_MS;
    await gauges.refresh();
    expect(driftOf(await metrics.registry.metrics())).toEqual(driftOf(text));
    expect(calls).toBe(2);
    (db as { status: string }).status = 'unavailable';
    down = false;
    await gauges.refresh();
    expect(calls).toBe(2);
    (db as { status: string }).status = 'connected';
    (db as { model: unknown }).model = { ...model, version: 'another' };
    await gauges.refresh();
    expect(calls).toBe(3);
  });
});

describe('StoredDriftCache', () => {
  it('reads one window at a time: a second window waits for the next call', async () => {
    const { model } = loadModel();
    let release: () => void = () => {};
    const started: number[] = [];
    const store = {
      async *trafficSlices(since: Date) {
        started.push(since.getTime());
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        yield {
          count: 1,
          features: new Float64Array([20, 12, 2, 1, 0]),
          anomalyScores: new Float64Array([0.45]),
          scoredBy: new Uint8Array([1]),
        };
      },
    } as unknown as Store;
    const cache = new StoredDriftCache(() => 1_000_000_000, 10);
    const use = <T>(fn: (s: Store) => Promise<T>) => fn(store);
    expect(await cache.latest(use, model, 7)).toBeUndefined(); // not done within 10 ms
    expect(await cache.latest(use, model, 30)).toBeUndefined(); // not started: 7 days is being read
    expect(started).toHaveLength(1);
    release();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await cache.latest(use, model, 7))?.rows).toBe(1);
    const thirty = cache.latest(use, model, 30);
    await new Promise((resolve) => setTimeout(resolve, 5));
    release();
    expect((await thirty)?.days).toBe(30);
    expect(started).toHaveLength(2);
  });
});
