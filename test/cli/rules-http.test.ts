/**
 * Rules over HTTP on the built daemon (bin/secureflow serve, a real listening process), over SQLite and Postgres:
 * the main flow, the CLI and the daemon reading one another's rules and history, and a backtest giving the
 * figures `secureflow rules test --since` gives on the same database.
 */
import { userInfo } from 'node:os';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { adminPool, freshSchema, pgReachable, pgRequired, PG_URL } from '../support/postgres.js';
import { call, createKey, tempDb } from '../daemon/server-helpers.js';
import { spawnDaemon, type DaemonProcess } from './daemon-process.js';
import { cli, fixture } from './run-cli.js';

const admin = adminPool();
const reachable = await pgReachable(admin);
const schemas: string[] = [];
afterAll(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});
if (!reachable && !pgRequired)
  console.warn(`\n*** SKIPPING the Postgres rules HTTP tests: cannot reach ${PG_URL} ***\n`);

const backends = [
  { name: 'sqlite', db: async () => tempDb(), skip: false },
  {
    name: 'postgres',
    db: async () => {
      const { schema, url } = await freshSchema(admin, 'sf_rules_http');
      schemas.push(schema);
      return url;
    },
    skip: !reachable && !pgRequired,
  },
];

for (const backend of backends) {
  describe.skipIf(backend.skip)(`rules over HTTP, built daemon on ${backend.name}`, () => {
    let db: string;
    let daemon: DaemonProcess;
    let adminKey: string;
    let viewerKey: string;
    beforeAll(async () => {
      db = await backend.db();
      // Ten stored transactions, one verdict (transaction 10: 5000.00 at 4 o'clock, marked correct).
      expect(cli(['score', fixture('transactions.csv'), '--db', db, '-q']).code).toBe(0);
      expect(cli(['feedback', '10', '--correct', '--db', db]).code).toBe(0);
      adminKey = await createKey(db, 'admin', 'ops-admin');
      viewerKey = await createKey(db, 'viewer', 'dashboard');
      daemon = await spawnDaemon(['--db', db]);
    }, 60_000);
    afterAll(() => daemon?.stop());
    const as = (key: string) => ({ authorization: `Bearer ${key}` });

    it('adds, refuses, lists, changes, backtests and removes; the CLI sees the same rules and history', async () => {
      const rule = {
        name: 'night-cash',
        when: 'amount > 3000 && hour < 5',
        action: 'block',
        description: 'big at night',
      };
      const added = await call(daemon.url, 'POST', '/api/rules', { body: rule, headers: as(adminKey) });
      expect(added.status).toBe(201);
      expect(added.json).toMatchObject({ name: 'night-cash', expression: rule.when, created_by: 'key:ops-admin' });

      const taken = await call(daemon.url, 'POST', '/api/rules', { body: rule, headers: as(adminKey) });
      expect(taken.status).toBe(409);
      expect(taken.json.details.field).toBe('name');
      const bad = await call(daemon.url, 'POST', '/api/rules', {
        body: { ...rule, name: 'bad', when: 'amount > "x"' },
        headers: as(adminKey),
      });
      expect(bad.status).toBe(400);
      expect(bad.json).toMatchObject({
        error: expect.stringMatching(/^when: line 1, column \d+: cannot compare a double with a string/),
        details: { field: 'when', position: { line: 1 } },
      });
      const viewerAdds = await call(daemon.url, 'POST', '/api/rules', {
        body: { ...rule, name: 'mine' },
        headers: as(viewerKey),
      });
      expect(viewerAdds.status).toBe(403);

      // A rule added with the CLI is served by the daemon, and the other way round.
      expect(cli(['rules', 'add', 'tiny', '--when', 'amount < 1', '--action', 'allow', '--db', db]).code).toBe(0);
      const listed = await call(daemon.url, 'GET', '/api/rules', { headers: as(viewerKey) });
      expect(listed.json.rules.map((r: { name: string; created_by: string }) => [r.name, r.created_by])).toEqual([
        ['night-cash', 'key:ops-admin'],
        ['tiny', userInfo().username],
      ]);

      const off = await call(daemon.url, 'PATCH', '/api/rules/night-cash', {
        body: { enabled: false },
        headers: as(adminKey),
      });
      expect(off.json.enabled).toBe(false);

      // The backtest gives the CLI's figures on the same database (stored_since differs by the seconds between).
      const http = await call(daemon.url, 'POST', '/api/rules/test', {
        body: { name: 'night-cash', since: '1d' },
        headers: as(viewerKey),
      });
      expect(http.status).toBe(200);
      const local = JSON.parse(cli(['rules', 'test', 'night-cash', '--since', '1d', '--db', db, '-f', 'json']).stdout);
      expect({ ...http.json, tested_on: null }).toStrictEqual({ ...local, tested_on: null });
      expect(http.json).toMatchObject({
        rule: { name: 'night-cash', enabled: false },
        rows: 10,
        matched: 1,
        verdicts: { with_verdict: 1 },
      });

      const removed = await call(daemon.url, 'DELETE', '/api/rules/night-cash', { headers: as(adminKey) });
      expect(removed.status).toBe(200);
      const shown = JSON.parse(cli(['rules', 'show', 'night-cash', '--db', db, '-f', 'json']).stdout);
      expect(shown.rule).toBeNull();
      expect(shown.history.map((h: { change: string; changed_by: string }) => [h.change, h.changed_by])).toEqual([
        ['added', 'key:ops-admin'],
        ['disabled', 'key:ops-admin'],
        ['removed', 'key:ops-admin'],
      ]);
      expect((await call(daemon.url, 'GET', '/api/rules/night-cash', { headers: as(viewerKey) })).json).toStrictEqual(
        shown,
      );
      expect((await call(daemon.url, 'GET', '/api/rules/night-cash')).status).toBe(401);

      await vi.waitFor(() => expect(daemon.logs.join('\n')).toContain('"url":"/api/rules/night-cash"'), {
        timeout: 10_000,
      });
      const logs = daemon.logs.join('\n');
      for (const key of [adminKey, viewerKey]) expect(logs).not.toContain(key.replace(/^sf_\d+_/, ''));
    }, 180_000); // a dozen or more CLI processes, on a machine whose Postgres other suites load too

    it('works through the daemon with --remote: the same output as local, changes made as the key', async () => {
      const remote = (key: string, args: string[]) =>
        cli(['rules', ...args, '--remote', daemon.url], { env: { SECUREFLOW_API_KEY: key } });
      const local = (args: string[]) => cli(['rules', ...args, '--db', db]);
      const add = remote(adminKey, [
        'add',
        'remote-big',
        '--when',
        'amount > 1000',
        '--action',
        'review',
        '-f',
        'json',
      ]);
      expect(add.code, add.stderr).toBe(0);
      expect(JSON.parse(add.stdout)).toMatchObject({ name: 'remote-big', created_by: 'key:ops-admin' });
      expect(remote(adminKey, ['add', 'remote-big', '--when', 'true', '--action', 'allow'])).toMatchObject({
        code: 3,
        stderr: expect.stringMatching(/a rule named remote-big already exists/),
      });
      const bad = remote(adminKey, ['add', 'remote-bad', '--when', 'amount >', '--action', 'allow']);
      expect(bad.code).toBe(3); // refused before any request, as locally
      expect(bad.stderr).toMatch(/line 1, column \d+/);
      expect(remote(viewerKey, ['disable', 'remote-big'])).toMatchObject({
        code: 7,
        stderr: expect.stringMatching(/viewer role may not admin/),
      });
      expect(remote(adminKey, ['disable', 'remote-big']).code).toBe(0);
      const changed = remote(adminKey, ['change', 'remote-big', '--action', 'block', '--description', 'checked']);
      expect(changed).toMatchObject({ code: 0, stdout: 'rule remote-big (block, disabled): amount > 1000\n' });

      for (const args of [['list'], ['show', 'remote-big']]) {
        const there = remote(viewerKey, [...args, '-f', 'json']);
        expect(there.code, there.stderr).toBe(0);
        expect(JSON.parse(there.stdout)).toStrictEqual(JSON.parse(local([...args, '-f', 'json']).stdout));
      }
      const table = remote(viewerKey, ['list', '-f', 'table']);
      expect(table.stdout).toBe(local(['list', '-f', 'table']).stdout);
      const testThere = JSON.parse(remote(viewerKey, ['test', 'remote-big', '--since', '1d', '-f', 'json']).stdout);
      const testHere = JSON.parse(local(['test', 'remote-big', '--since', '1d', '-f', 'json']).stdout);
      expect({ ...testThere, tested_on: null }).toStrictEqual({ ...testHere, tested_on: null });
      expect(testThere).toMatchObject({ rows: 10, rule: { name: 'remote-big', enabled: false, action: 'block' } });
      const expression = remote(viewerKey, ['test', '--when', 'hour < 5', '--since', '1d', '-f', 'json']);
      expect(JSON.parse(expression.stdout)).toMatchObject({ rule: { name: null, expression: 'hour < 5' }, rows: 10 });
      expect(remote(viewerKey, ['test', 'remote-big', fixture('transactions.csv')])).toMatchObject({
        code: 2,
        stderr: expect.stringMatching(/--since/),
      });

      expect(remote(adminKey, ['remove', 'remote-big']).code).toBe(0);
      expect(remote(adminKey, ['remove', 'remote-big'])).toMatchObject({ code: 4, stderr: /no rule named/ });
      expect(remote(viewerKey, ['show', 'nothing-here']).code).toBe(4);
      const history = JSON.parse(local(['show', 'remote-big', '-f', 'json']).stdout).history;
      expect(history.map((h: { change: string; changed_by: string }) => [h.change, h.changed_by])).toEqual([
        ['added', 'key:ops-admin'],
        ['disabled', 'key:ops-admin'],
        ['changed', 'key:ops-admin'],
        ['removed', 'key:ops-admin'],
      ]);
      expect(cli(['rules', 'list', '--remote', daemon.url])).toMatchObject({ code: 7 });
      // The CLI ran synchronously: the daemon's log lines are read from its pipe now that this test waits.
      await vi.waitFor(() => expect(daemon.logs.join('\n')).toContain('"url":"/api/rules/remote-big"'), {
        timeout: 10_000,
      });
      const logs = daemon.logs.join('\n');
      for (const key of [adminKey, viewerKey]) expect(logs).not.toContain(key.replace(/^sf_\d+_/, ''));
    }, 180_000); // a dozen or more CLI processes, on a machine whose Postgres other suites load too
  });
}
