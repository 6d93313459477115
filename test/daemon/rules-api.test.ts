/**
 * The risk-rule routes in-process (app.inject) over SQLite: who may do what, every refusal's status and field,
 * the history naming the key that made each change, and backtests over stored traffic with verdicts.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRandom } from '../../src/model/random.js';
import { call, createKey, startTestServer, tempDb, type TestServer } from './server-helpers.js';

let server: TestServer;
let app: FastifyInstance;
const keys: Record<string, string> = {};
beforeAll(async () => {
  const db = tempDb();
  for (const role of ['admin', 'analyst', 'scorer', 'viewer'] as const) keys[role] = await createKey(db, role);
  keys.admin2 = await createKey(db, 'admin', 'second admin');
  server = await startTestServer({ db });
  app = server.app;
});
afterAll(() => server?.close());

const as = (who: string) => ({ authorization: `Bearer ${keys[who]}` });
const req = (who: string, method: string, path: string, body?: unknown) =>
  call(app, method, path, { headers: as(who), ...(body === undefined ? {} : { body }) });
const night = { name: 'night-cash', expression: 'amount > 3000 && hour < 5', action: 'block' };

describe('who may do what', () => {
  it('lets reading roles list, show and backtest; only admins add, change and remove; nobody without a key', async () => {
    expect((await req('admin', 'POST', '/api/rules', { ...night, name: 'matrix' })).status).toBe(201);
    const requests: Record<string, [string, string, unknown?]> = {
      list: ['GET', '/api/rules'],
      show: ['GET', '/api/rules/matrix'],
      test: ['POST', '/api/rules/test', { name: 'matrix' }],
      add: ['POST', '/api/rules', { ...night, name: 'matrix-2' }],
      change: ['PATCH', '/api/rules/matrix', { enabled: false }],
      remove: ['DELETE', '/api/rules/matrix'],
    };
    const allowed: Record<string, string[]> = {
      admin: ['list', 'show', 'test', 'add', 'change', 'remove'],
      analyst: ['list', 'show', 'test'],
      viewer: ['list', 'show', 'test'],
      scorer: [],
    };
    for (const role of ['analyst', 'viewer', 'scorer', 'admin']) {
      for (const [what, [method, path, body]] of Object.entries(requests)) {
        const r = await req(role, method, path, body);
        if (allowed[role].includes(what)) expect(r.status, `${role} ${what}`).toBeLessThan(300);
        else {
          expect(r.status, `${role} ${what}`).toBe(403);
          expect(r.json).toMatchObject({ error: expect.stringMatching(role), details: { role } });
        }
        const anonymous = await call(app, method, path, body === undefined ? {} : { body });
        expect(anonymous.status, `no key: ${what}`).toBe(401);
      }
    }
    // Nothing a refused caller sent was recorded: the history is the admin's alone.
    const history = (await req('admin', 'GET', '/api/rules/matrix')).json.history;
    expect(history.map((h: { change: string; changed_by: string }) => [h.change, h.changed_by])).toEqual([
      ['added', 'key:admin key'],
      ['disabled', 'key:admin key'],
      ['removed', 'key:admin key'],
    ]);
  });
});

describe('adding, changing and removing', () => {
  it('adds a rule (201, as the CLI stores it), lists and shows it, with the key that added it', async () => {
    const added = await req('admin', 'POST', '/api/rules', { ...night, description: 'big at night' });
    expect(added.status).toBe(201);
    expect(added.json).toStrictEqual({
      id: expect.any(Number),
      ...night,
      description: 'big at night',
      enabled: true,
      created_by: 'key:admin key',
      created_at: expect.any(String),
      updated_at: added.json.created_at,
    });
    // `when` is the CLI flag's name for the expression; a blank description is none.
    const vip = await req('analyst', 'GET', '/api/rules');
    expect(vip.json.rules.map((r: { name: string }) => r.name)).toContain('night-cash');
    const viaWhen = await req('admin', 'POST', '/api/rules', {
      name: 'vip',
      when: 'amount < 10',
      action: 'allow',
      description: ' ',
    });
    expect(viaWhen.json).toMatchObject({ name: 'vip', expression: 'amount < 10', action: 'allow', description: null });
    const list = await req('viewer', 'GET', '/api/rules');
    expect(list.status).toBe(200);
    expect(list.json.total).toBe(list.json.rules.length);
    expect(list.json.rules.find((r: { name: string }) => r.name === 'night-cash')).toStrictEqual(added.json);
    const shown = await req('viewer', 'GET', '/api/rules/night-cash');
    expect(shown.json).toStrictEqual({
      rule: added.json,
      history: [
        {
          id: expect.any(Number),
          rule_name: 'night-cash',
          change: 'added',
          expression: night.expression,
          action: 'block',
          description: 'big at night',
          enabled: true,
          changed_by: 'key:admin key',
          changed_at: added.json.created_at,
        },
      ],
    });
  });

  it('changes enabled, expression, action and description, each change in the history under its key', async () => {
    await req('admin', 'POST', '/api/rules', { name: 'hist', expression: 'amount > 100', action: 'review' });
    const off = await req('admin2', 'PATCH', '/api/rules/hist', { enabled: false });
    expect(off.status).toBe(200);
    expect(off.json).toMatchObject({ name: 'hist', enabled: false, created_by: 'key:admin key' });
    // The same state again: answered as it is, nothing recorded.
    expect((await req('admin2', 'PATCH', '/api/rules/hist', { enabled: false })).json).toStrictEqual(off.json);
    const changed = await req('admin', 'PATCH', '/api/rules/hist', {
      when: 'amount > 200 && hour < 6',
      action: 'block',
      description: 'tightened',
      enabled: true,
    });
    expect(changed.json).toMatchObject({
      expression: 'amount > 200 && hour < 6',
      action: 'block',
      description: 'tightened',
      enabled: true,
    });
    const cleared = await req('admin2', 'PATCH', '/api/rules/hist', { description: null, name: 'hist' });
    expect(cleared.json.description).toBeNull();
    const { rule, history } = (await req('analyst', 'GET', '/api/rules/hist')).json;
    expect(rule).toStrictEqual(cleared.json);
    expect(
      history.map((h: Record<string, unknown>) => [h.change, h.changed_by, h.expression, h.action, h.enabled]),
    ).toEqual([
      ['added', 'key:admin key', 'amount > 100', 'review', true],
      ['disabled', 'key:second admin', 'amount > 100', 'review', false],
      ['changed', 'key:admin key', 'amount > 200 && hour < 6', 'block', false],
      ['enabled', 'key:admin key', 'amount > 200 && hour < 6', 'block', true],
      ['changed', 'key:second admin', 'amount > 200 && hour < 6', 'block', true],
    ]);
  });

  it('removes a rule: its history stays readable, and the name can be used again', async () => {
    await req('admin', 'POST', '/api/rules', { name: 'gone', expression: 'true', action: 'review' });
    // As some clients send it: a JSON content type and no body.
    const removed = await call(app, 'DELETE', '/api/rules/gone', {
      raw: '',
      contentType: 'application/json',
      headers: as('admin2'),
    });
    expect(removed.status).toBe(200);
    expect(removed.json).toMatchObject({ name: 'gone', expression: 'true' });
    const after = await req('viewer', 'GET', '/api/rules/gone');
    expect(after.status).toBe(200);
    expect(after.json.rule).toBeNull();
    expect(after.json.history.map((h: { change: string; changed_by: string }) => [h.change, h.changed_by])).toEqual([
      ['added', 'key:admin key'],
      ['removed', 'key:second admin'],
    ]);
    expect((await req('viewer', 'GET', '/api/rules')).json.rules.map((r: { name: string }) => r.name)).not.toContain(
      'gone',
    );
    const again = await req('admin', 'DELETE', '/api/rules/gone');
    expect(again.status).toBe(404);
    expect(again.json).toMatchObject({ error: 'no rule named "gone"', details: { field: 'name' } });
    expect((await req('admin', 'PATCH', '/api/rules/gone', { enabled: true })).status).toBe(404);
    expect(
      (await req('admin', 'POST', '/api/rules', { name: 'gone', expression: 'false', action: 'allow' })).status,
    ).toBe(201);
  });
});

describe('refusals: a 4xx naming the field, never a 5xx', () => {
  it('refuses a bad CEL expression with 400, its line, column and reason, under the field the caller used', async () => {
    const syntax = await req('admin', 'POST', '/api/rules', { ...night, name: 'bad', expression: 'amount >' });
    expect(syntax.status).toBe(400);
    expect(syntax.json).toMatchObject({
      error: expect.stringMatching(/^expression: line 1, column \d+: syntax error/),
      details: { field: 'expression', position: { line: 1, column: expect.any(Number) }, reason: expect.any(String) },
    });
    const unknown = await req('admin', 'POST', '/api/rules', {
      ...night,
      expression: undefined,
      name: 'bad',
      when: 'amount > 10 &&\n  colour == "red"',
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatch(/^when: line 2, column 3: .*colour/);
    expect(unknown.json.details).toMatchObject({ field: 'when', position: { line: 2, column: 3 } });
    const notBool = await req('admin', 'PATCH', '/api/rules/night-cash', { expression: 'amount + 1' });
    expect(notBool.status).toBe(400);
    expect(notBool.json.details).toMatchObject({ field: 'expression', reason: expect.stringMatching(/true or false/) });
    const test = await req('viewer', 'POST', '/api/rules/test', { expression: 'hour <' });
    expect(test.status).toBe(400);
    expect(test.json.details.field).toBe('expression');
    expect((await req('admin', 'GET', '/api/rules/bad')).status).toBe(404); // nothing was stored
  });

  it('answers 409 for a name taken, 404 for an unknown rule, 400 for each malformed field', async () => {
    const taken = await req('admin', 'POST', '/api/rules', { ...night, action: 'allow' });
    expect(taken.status).toBe(409);
    expect(taken.json).toMatchObject({ error: 'a rule named night-cash already exists', details: { field: 'name' } });
    for (const [method, path, body] of [
      ['GET', '/api/rules/nope'],
      ['PATCH', '/api/rules/nope', { enabled: true }],
      ['DELETE', '/api/rules/nope'],
      ['POST', '/api/rules/test', { name: 'nope' }],
    ] as const) {
      const r = await req('admin', method, path, body);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.json.details.field).toBe('name');
    }
    const cases: [string, string, unknown, string, RegExp?][] = [
      ['POST', '/api/rules', { ...night, name: 'bad name' }, 'name', /letters, digits/],
      ['POST', '/api/rules', { ...night, name: 7 }, 'name', /string/],
      ['POST', '/api/rules', { expression: 'true', action: 'block' }, 'name', /required/],
      ['POST', '/api/rules', { name: 'x', action: 'block' }, 'expression', /required/],
      ['POST', '/api/rules', { name: 'x', expression: 'true' }, 'action', /required/],
      ['POST', '/api/rules', { ...night, name: 'x', action: 'deny' }, 'action', /allow, review, block/],
      ['POST', '/api/rules', { ...night, name: 'x', when: 'true' }, 'when', /one of them/],
      ['POST', '/api/rules', { ...night, name: 'x', descripton: 'typo' }, 'descripton', /not a field/],
      ['POST', '/api/rules', { ...night, name: 'x', description: 'd'.repeat(2001) }, 'description', /2000/],
      ['POST', '/api/rules', { ...night, name: 'x', description: 5 }, 'description', /string/],
      ['POST', '/api/rules', [night], 'body', /JSON object/],
      ['PATCH', '/api/rules/night-cash', {}, 'body', /must change something/],
      ['PATCH', '/api/rules/night-cash', { enabled: 'no' }, 'enabled', /true or false/],
      ['PATCH', '/api/rules/night-cash', { name: 'renamed' }, 'name', /cannot be changed/],
      ['PATCH', '/api/rules/night-cash', { action: 3 }, 'action', /allow, review, block/],
      ['POST', '/api/rules/test', {}, 'name', /required/],
      ['POST', '/api/rules/test', { name: 'night-cash', expression: 'true' }, 'name', /not both/],
      ['POST', '/api/rules/test', { name: 'night-cash', since: 'yesterday' }, 'since', /7d, 24h/],
      ['POST', '/api/rules/test', { name: 'night-cash', since: 30 }, 'since', /string/],
    ];
    for (const [method, path, body, field, message] of cases) {
      const r = await req('admin', method, path, body);
      expect(r.status, `${method} ${path} ${JSON.stringify(body).slice(0, 60)}`).toBe(400);
      expect(r.json.details.field, JSON.stringify(body).slice(0, 60)).toBe(field);
      if (message) expect(r.json.error).toMatch(message);
    }
    const malformed = await call(app, 'POST', '/api/rules', { raw: '{"name":', headers: as('admin') });
    expect(malformed.status).toBe(400);
    expect(malformed.json.details.field).toBe('body');
    expect((await req('admin', 'GET', '/api/rules/night-cash')).json.rule).toMatchObject({
      action: 'block',
      enabled: true,
    });
  });
});

describe('random input', () => {
  it('never answers 5xx to 300 random bodies and names on the rule routes', async () => {
    const random = createRandom(20261206);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random.nextFloat() * xs.length)];
    const values = [
      null,
      true,
      0,
      -1,
      1e308,
      '',
      ' ',
      'true',
      'amount >',
      'amount > 3000 && hour < 5',
      '1 / 0 == 1',
      'a'.repeat(5000),
      '\u0000',
      '\ud800',
      '😀'.repeat(40),
      'block',
      'allow',
      '30d',
      '9999999999d',
      '0001-01-01',
      [],
      {},
      ['x'],
    ];
    const fields = ['name', 'expression', 'when', 'action', 'description', 'enabled', 'since', '__proto__', 'x'];
    const body = () => {
      if (random.nextFloat() < 0.1) return pick(values);
      const o: Record<string, unknown> = {};
      for (let i = 0; i < 1 + Math.floor(random.nextFloat() * 5); i++) o[pick(fields)] = pick(values);
      return o;
    };
    const names = ['night-cash', 'nope', 'a%2Fb', '%00', '%F0%9F%98%80', 'x'.repeat(300), '..', 'test'];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      const name = pick(names);
      const [method, path] = pick([
        ['POST', '/api/rules'],
        ['POST', '/api/rules/test'],
        ['PATCH', `/api/rules/${name}`],
        ['GET', `/api/rules/${name}`],
      ] as const);
      const sent = method === 'GET' ? undefined : body();
      const r = await call(app, method, path, {
        headers: as('admin'),
        ...(sent === undefined ? {} : { raw: JSON.stringify(sent) ?? 'null' }),
      });
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      expect(r.status, `${method} ${path} ${JSON.stringify(sent)?.slice(0, 200)}`).toBeLessThan(500);
      if (r.status >= 400) expect(typeof r.json.error, JSON.stringify(sent)?.slice(0, 200)).toBe('string');
    }
    expect(statuses.get(400)).toBeGreaterThan(100); // the fuzz reached validation
  });
});

describe('backtests over stored traffic', () => {
  it('counts matches, model flags and analyst verdicts, by stored rule or expression, as rules test does', async () => {
    const db = tempDb();
    const key = await createKey(db, 'admin');
    const own = await startTestServer({ db });
    try {
      const h = { authorization: `Bearer ${key}` };
      const post = (path: string, body: unknown) => call(own.app, 'POST', path, { headers: h, body });
      const big = { amount: 4800, hour: 3, day_of_week: 6, merchant_category: 9, transaction_type: 2 };
      const small = { amount: 20, hour: 14, day_of_week: 2, merchant_category: 3, transaction_type: 0 };
      const ids: number[] = [];
      for (const tx of [big, big, big, small, small]) ids.push((await post('/api/predict', tx)).json.transaction_id);
      const sixth = (await post('/api/predict', big)).json;
      expect(sixth.is_anomaly).toBe(true);
      ids.push(sixth.transaction_id);
      // Verdicts on two big ones: the first flag confirmed (fraud), the second refuted (legitimate).
      await post('/api/feedback', { transaction_id: ids[0], feedback: true });
      await post('/api/feedback', { transaction_id: ids[1], feedback: false });
      await post('/api/feedback', { transaction_id: ids[3], feedback: true }); // not matched: not counted
      await post('/api/rules', { name: 'big', expression: 'amount > 1000', action: 'block' });

      const byName = await post('/api/rules/test', { name: 'big', since: '1h' });
      expect(byName.status).toBe(200);
      expect(byName.json).toStrictEqual({
        rule: { name: 'big', action: 'block', enabled: true, expression: 'amount > 1000' },
        tested_on: { stored_since: expect.any(String) },
        model_version: null,
        rows: 6,
        evaluated: 6,
        matched: 4,
        share: 4 / 6,
        matched_flagged_by_model: 4,
        invalid_rows: 0,
        rule_errors: 0,
        errors: [],
        verdicts: { with_verdict: 2, confirmed_fraud: 1, confirmed_legitimate: 1 },
        note: null,
      });
      expect(Date.now() - Date.parse(byName.json.tested_on.stored_since)).toBeGreaterThanOrEqual(3_600_000 - 60_000);
      // An expression, with the default window (30 days); a legacy field reads as "" and says so.
      const byExpression = await post('/api/rules/test', { when: 'amount < 100 || merchant == "x"' });
      expect(byExpression.json).toMatchObject({
        rule: { name: null, action: null, enabled: null, expression: 'amount < 100 || merchant == "x"' },
        rows: 6,
        matched: 2,
        matched_flagged_by_model: 0,
        verdicts: { with_verdict: 1, confirmed_fraud: 0, confirmed_legitimate: 1 },
        note: expect.stringMatching(/merchant/),
      });
      expect(Date.now() - Date.parse(byExpression.json.tested_on.stored_since)).toBeGreaterThan(29 * 86_400_000);
      // A rule that fails at run time on a row is reported on that row; the others are counted.
      const failing = await post('/api/rules/test', { expression: '100 / (int(hour) - 3) > 5', since: '1d' });
      expect(failing.json).toMatchObject({ rows: 6, rule_errors: 4, evaluated: 2, matched: 2 });
      expect(failing.json.errors.map((e: { transaction_id: number }) => e.transaction_id).sort()).toEqual(
        [ids[0], ids[1], ids[2], ids[5]].sort(),
      );
      expect(failing.json.errors[0]).toMatchObject({ file: null, error: expect.stringMatching(/divi/i) });
      // Nothing stored in the window: zeros, not an error.
      const future = await post('/api/rules/test', { name: 'big', since: '2999-01-01' });
      expect(future.json).toMatchObject({ rows: 0, matched: 0, share: 0 });
    } finally {
      await own.close();
    }
  });
});

describe('backtests at once', () => {
  it('runs one at a time with four waiting; past those the caller is told to retry (429), not queued', async () => {
    const own = await startTestServer({ db: tempDb() });
    try {
      const rows = Array.from({ length: 10_000 }, (_, i) => ({
        amount: 10 + (i % 500),
        hour: i % 24,
        day_of_week: i % 7,
        merchant_category: i % 10,
        transaction_type: i % 3,
      }));
      const stored = await call(own.app, 'POST', '/api/predict-batch?explain=false', { body: { transactions: rows } });
      expect(stored.json.scored).toBe(10_000);
      const answers = await Promise.all(
        Array.from({ length: 7 }, () =>
          call(own.app, 'POST', '/api/rules/test', { body: { expression: 'amount > 400', since: '1h' } }),
        ),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 429, 429]);
      const refused = answers.find((a) => a.status === 429)!;
      expect(refused.headers.get('retry-after')).toBe('10');
      expect(refused.json.error).toMatch(/backtests are running or waiting: retry in 10 s/);
      for (const a of answers.filter((x) => x.status === 200))
        expect(a.json).toMatchObject({ rows: 10_000, matched: 2180 });
      // Once they are done, the next one runs.
      expect((await call(own.app, 'POST', '/api/rules/test', { body: { expression: 'true' } })).status).toBe(200);
    } finally {
      await own.close();
    }
  });
});

describe('a daemon that takes requests without keys', () => {
  it('records changes as made by "anonymous"', async () => {
    const open = await startTestServer({ db: tempDb() });
    try {
      const added = await call(open.app, 'POST', '/api/rules', { body: night });
      expect(added.status).toBe(201);
      expect(added.json.created_by).toBe('anonymous');
      await call(open.app, 'PATCH', '/api/rules/night-cash', { body: { enabled: false } });
      const { history } = (await call(open.app, 'GET', '/api/rules/night-cash')).json;
      expect(history.map((x: { changed_by: string }) => x.changed_by)).toEqual(['anonymous', 'anonymous']);
    } finally {
      await open.close();
    }
  });
});

describe('CORS', () => {
  it('lets a browser front end send PATCH and DELETE', async () => {
    const r = await call(app, 'OPTIONS', '/api/rules/night-cash', {
      headers: {
        origin: 'http://localhost:3000',
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'content-type,authorization',
      },
    });
    expect(r.status).toBeLessThan(300);
    expect(r.headers.get('access-control-allow-methods')).toMatch(/PATCH/);
    expect(r.headers.get('access-control-allow-methods')).toMatch(/DELETE/);
  });
});
