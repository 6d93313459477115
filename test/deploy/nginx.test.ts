// The original front end, deployed: Debian's nginx serves its build and proxies /api/ to the built daemon with
// deploy/nginx.conf, adding an analyst key. Every call the front end makes is replayed byte for byte through
// nginx; the same call straight to the daemon, with no key, is 401. Skipped (loudly) without nginx, unless
// SECUREFLOW_REQUIRE_NGINX=1 (.ci/run sets it), when a missing nginx fails. SECUREFLOW_NGINX=PATH picks the binary.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVE_DEFAULTS } from '../../src/daemon/options.js';
import { spawnDaemon, type DaemonProcess } from '../cli/daemon-process.js';
import { cli } from '../cli/run-cli.js';
import { browserBytes, rawRequest, type BrowserRequest } from './browser-requests.js';
import { startFakeDns, type FakeDns } from './fake-dns.js';
import {
  canListen,
  findNginx,
  nginxVersion,
  startNginxOnFreePort,
  templateVariables,
  TEMPLATE_PATH,
  testConfig,
  type RunningNginx,
} from './nginx-harness.js';

const NGINX = findNginx();
const REQUIRED = process.env.SECUREFLOW_REQUIRE_NGINX === '1';
if (!NGINX && !REQUIRED) {
  console.warn('\n*** SKIPPING test/deploy/nginx.test.ts: nginx is not installed (apt-get install -y nginx). ***\n');
}

const template = readFileSync(TEMPLATE_PATH, 'utf8');
const INDEX_HTML =
  '<!doctype html><html><head><title>Fraud Detection</title></head><body><div id="root"></div></body></html>\n';

// The original's batch-upload sample (its original-test-transactions.csv), posted as its page posts it: numbers.
const ORIGINAL_ROWS = `amount,merchant_category,transaction_type,hour,day_of_week
50.25,1,0,14,2
1250.00,3,1,3,6
75.99,2,0,12,1
3500.50,5,2,23,5
25.00,0,0,9,3
89.99,4,1,15,4
2100.75,7,0,2,0
45.50,1,0,11,2
150.00,6,1,18,1
5000.00,8,2,4,6
`;

describe('deploy/nginx.conf (static)', () => {
  it('takes exactly the documented variables', () => {
    expect(templateVariables(template)).toEqual([
      'NGINX_PORT',
      'NGINX_ROOT',
      'SECUREFLOW_API_KEY',
      'SECUREFLOW_BACKEND',
      'SECUREFLOW_RESOLVER',
    ]);
  });

  it("limits bodies to the daemon's own limit", () => {
    const size = /client_max_body_size\s+(\d+)m;/.exec(template);
    expect(Number(size?.[1]) * 1024 * 1024).toBe(SERVE_DEFAULTS.bodyLimit);
    expect(template).toContain(`"limit_bytes":${SERVE_DEFAULTS.bodyLimit}`);
  });
});

describe.skipIf(!NGINX && !REQUIRED)('deploy/nginx.conf with the values of the Fly set-up', () => {
  it('passes nginx -t (README and fly.toml values: .internal name, Fly DNS resolver)', () => {
    if (!NGINX) throw new Error('SECUREFLOW_REQUIRE_NGINX=1 but nginx is not installed (apt-get install -y nginx)');
    const result = testConfig(NGINX, mkdtempSync(join(tmpdir(), 'secureflow-nginx-t-')), {
      NGINX_PORT: '8080',
      NGINX_ROOT: '/usr/share/nginx/html',
      SECUREFLOW_BACKEND: 'http://secureflow-backend.internal:5001',
      SECUREFLOW_RESOLVER: '[fdaa::3]',
      SECUREFLOW_API_KEY: 'sf_1_placeholder',
    });
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/syntax is ok/);
  });
});

describe.skipIf(!NGINX && !REQUIRED)('the original front end through a real nginx in front of the built daemon', () => {
  let daemon: DaemonProcess;
  let daemonPort: number;
  let nginx: RunningNginx;
  let host: string;
  let origin: string;
  let key: string;
  let dns: FakeDns;

  beforeAll(async () => {
    if (!NGINX) throw new Error('SECUREFLOW_REQUIRE_NGINX=1 but nginx is not installed (apt-get install -y nginx)');
    const dir = mkdtempSync(join(tmpdir(), 'secureflow-nginx-'));
    const db = join(dir, 'backend.db');
    const created = cli([
      'keys',
      'create',
      '--name',
      'frontend-nginx',
      '--role',
      'analyst',
      '--db',
      db,
      '--format',
      'json',
    ]);
    expect(created.code, created.stderr).toBe(0);
    key = JSON.parse(created.stdout).key;
    // As on Fly: the daemon on "::" (fly.toml's HOST), nginx finding it by name through a resolver that answers
    // the .internal name with an IPv6 address only. Where IPv6 loopback is missing, IPv4 stands in.
    const v6 = await canListen('::1');
    if (!v6) console.warn('no IPv6 loopback here: the nginx test proxies over IPv4 instead of IPv6 as on Fly');
    daemon = await spawnDaemon(['--db', db, '--host', v6 ? '::' : '127.0.0.1']);
    daemonPort = Number(new URL(daemon.url).port);
    dns = await startFakeDns('secureflow-backend.internal', v6 ? '::1' : '127.0.0.1');

    const root = join(dir, 'html');
    mkdirSync(root);
    writeFileSync(join(root, 'index.html'), INDEX_HTML);
    nginx = await startNginxOnFreePort(NGINX, join(dir, 'nginx'), {
      NGINX_ROOT: root,
      SECUREFLOW_BACKEND: `http://secureflow-backend.internal:${daemonPort}`,
      SECUREFLOW_RESOLVER: `127.0.0.1:${dns.port}`,
      SECUREFLOW_API_KEY: key,
    });
    host = `localhost:${nginx.port}`;
    origin = `http://${host}`;
    console.info(`${nginxVersion(NGINX)} on port ${nginx.port} -> daemon on ${daemonPort}`);
  }, 60_000);

  afterAll(async () => {
    await nginx?.stop();
    await daemon?.stop();
    await dns?.close();
  });

  /** A same-origin call from the page, as the browser writes it, through nginx. */
  const page = (req: Omit<BrowserRequest, 'host' | 'origin'>) =>
    rawRequest(nginx.port, browserBytes({ ...req, host, origin: req.method === 'GET' ? undefined : origin }));

  it('serves the front end: / and its client-side routes get index.html', async () => {
    for (const path of ['/', '/login', '/dashboard']) {
      const res = await page({ method: 'GET', path });
      expect(res.status, path).toBe(200);
      expect(res.headers['content-type'], path).toMatch(/^text\/html/);
      expect(res.text, path).toBe(INDEX_HTML);
      expect(res.headers['cache-control'], path).toBe('no-cache');
    }
  });

  it('warms up: POST /api/warmup, Content-Type: application/json, no body', async () => {
    const res = await page({ method: 'POST', path: '/api/warmup' });
    expect(res.status, res.text).toBe(200);
    expect(res.json.status).toBe('warmed_up');
    // No id from the browser: nginx's $request_id, kept by the daemon.
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    // The backend's name was looked up at request time, through the resolver.
    expect(dns.queries).toContain('secureflow-backend.internal AAAA');
  });

  let scoredId: number;
  it('scores one transaction: POST /api/predict', async () => {
    const body = JSON.stringify({ amount: 1250, hour: 3, day_of_week: 6, merchant_category: 3, transaction_type: 1 });
    const res = await page({ method: 'POST', path: '/api/predict', body });
    expect(res.status, res.text).toBe(200);
    for (const field of [
      'transaction_id',
      'is_anomaly',
      'anomaly_score',
      'risk_score',
      'risk_level',
      'confidence',
      'shap_explanation',
      'risk_factors',
    ]) {
      expect(res.json, field).toHaveProperty(field);
    }
    scoredId = res.json.transaction_id;
    expect(Number.isInteger(scoredId)).toBe(true);
  });

  it('scores the batch upload: POST /api/predict-batch with {transactions:[...]}', async () => {
    const [header, ...lines] = ORIGINAL_ROWS.trim().split('\n');
    const names = header.split(',');
    const transactions = lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [names[i], Number(v)])));
    expect(transactions).toHaveLength(10);
    const res = await page({ method: 'POST', path: '/api/predict-batch', body: JSON.stringify({ transactions }) });
    expect(res.status, res.text).toBe(200);
    expect(res.json.total_processed).toBe(10);
    expect(res.json.results).toHaveLength(10);
    for (const r of res.json.results) expect(r).toHaveProperty('anomaly_score');
  });

  it('records feedback: POST /api/feedback with {transaction_id, feedback, comments}', async () => {
    const body = JSON.stringify({
      transaction_id: scoredId,
      feedback: true,
      comments: 'confirmed with the cardholder',
    });
    const res = await page({ method: 'POST', path: '/api/feedback', body });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ transaction_id: scoredId, feedback: true });
    expect(typeof res.json.message).toBe('string');
  });

  it('shows the dashboard: GET /api/dashboard?days=7', async () => {
    const res = await page({ method: 'GET', path: '/api/dashboard?days=7' });
    expect(res.status, res.text).toBe(200);
    expect(res.json.stats.total_transactions).toBe(11);
    expect(res.json.feedback.total_feedback).toBe(1);
    expect(res.json.hourly_distribution).toHaveLength(24);
  });

  it('lists transactions: GET /api/transactions', async () => {
    const res = await page({ method: 'GET', path: '/api/transactions' });
    expect(res.status, res.text).toBe(200);
    expect(res.json.pagination.total).toBe(11);
    expect(res.json.transactions.map((t: { id: number }) => t.id)).toContain(scoredId);
    expect(res.headers['content-encoding']).toBe('gzip'); // the browser accepts it; nginx compresses the JSON
  });

  it("passes the caller's X-Request-Id through, and replaces any credential the browser sends", async () => {
    const res = await page({
      method: 'GET',
      path: '/api/transactions?page=1&per_page=5',
      extra: { 'X-Request-Id': 'page-load-42', 'X-API-Key': 'sf_1_bogus', Authorization: 'Bearer nope' },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.headers['x-request-id']).toBe('page-load-42');
  });

  it('the same calls straight to the daemon, without nginx and its key, are 401', async () => {
    for (const req of [
      { method: 'POST', path: '/api/warmup' },
      { method: 'GET', path: '/api/transactions' },
    ] as const) {
      const res = await rawRequest(daemonPort, browserBytes({ ...req, host: `localhost:${daemonPort}`, origin }));
      expect(res.status, req.path).toBe(401);
    }
  });

  it("refuses a body over the daemon's limit at nginx with 413 JSON", async () => {
    // Only the headers: nginx answers from Content-Length without reading the body.
    const head = browserBytes({ method: 'POST', path: '/api/predict-batch', host, origin }).replace(
      'Content-Length: 0',
      `Content-Length: ${SERVE_DEFAULTS.bodyLimit + 1}`,
    );
    const res = await rawRequest(nginx.port, head);
    expect(res.status).toBe(413);
    expect(res.json.details.limit_bytes).toBe(SERVE_DEFAULTS.bodyLimit);
  });

  it('never writes the key to a log', () => {
    const secret = key.slice(-20); // the tail of the key is secret, whatever its format
    expect(nginx.logs()).not.toContain(secret);
    expect(nginx.stderr()).not.toContain(secret);
    expect(daemon.logs.join('\n')).not.toContain(secret);
  });

  // Last: it stops the daemon.
  it('answers JSON 503 when the daemon is down, and serves the page still', async () => {
    expect(await daemon.stop()).toBe(0);
    const res = await page({ method: 'POST', path: '/api/warmup' });
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json.error).toMatch(/unavailable/);
    expect(res.headers['retry-after']).toBe('5');
    expect((await page({ method: 'GET', path: '/' })).status).toBe(200);
  });
});
