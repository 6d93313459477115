/** The daemon shows the active threshold's expected alert rate: GET /api/health and GET /api/dashboard. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withCalibratedThreshold } from '../../src/model/calibrate.js';
import { parseModel, serializeModel } from '../../src/model/model-file.js';
import { call, startTestServer, type TestServer } from './server-helpers.js';

const bundled = parseModel(readFileSync(new URL('../../src/model/default-model.json', import.meta.url), 'utf8'));
const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

describe('alert_rate', () => {
  it('of the bundled model: the share of its training rows at or above its threshold', async () => {
    const server = await startTestServer();
    servers.push(server);
    const health = await call(server.app, 'GET', '/api/health');
    expect(health.json.alert_rate).toMatchObject({ threshold: bundled.threshold, basis: 'training', rows: 50_000 });
    expect(health.json.alert_rate.expected).toBeCloseTo(0.06, 3);
    const dashboard = await call(server.app, 'GET', '/api/dashboard?days=7');
    expect(dashboard.json.alert_rate).toEqual(health.json.alert_rate);
  });

  it('of a calibrated model: the share of its calibration traffic it flagged, with the interval', async () => {
    const doc = withCalibratedThreshold(bundled, 0.68, {
      method: 'alert-rate',
      source: 'files',
      target: 0.02,
      rows: 1100,
      flagged: 22,
      positives: null,
      labelColumn: null,
      files: [],
    });
    const file = join(mkdtempSync(join(tmpdir(), 'secureflow-alert-rate-')), 'calibrated.json');
    writeFileSync(file, serializeModel(doc));
    const server = await startTestServer({ model: file });
    servers.push(server);
    const health = await call(server.app, 'GET', '/api/health');
    expect(health.json.model_version).toBe(doc.id);
    expect(health.json.alert_rate).toMatchObject({ threshold: 0.68, expected: 0.02, basis: 'calibration', rows: 1100 });
    expect(health.json.alert_rate.low).toBeCloseTo(0.0132, 4);
    expect(health.json.alert_rate.high).toBeCloseTo(0.0301, 4);
    expect((await call(server.app, 'GET', '/api/dashboard')).json.alert_rate).toEqual(health.json.alert_rate);
  });
});
