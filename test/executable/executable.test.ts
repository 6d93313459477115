// The single executable (dist/secureflow-linux-x64, built by `npm run package`, which `npm test` runs first),
// run as a user without Node.js would: from an empty directory, with an empty home, and (as root) with Node's
// binary and the checkout's node_modules hidden.
import { chmodSync, copyFileSync, cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, fixture, writeRepeatedFixture } from '../cli/run-cli.js';
import {
  built,
  canHideNode,
  EXECUTABLE,
  exeCommand,
  freshUser,
  ROOT,
  runExe,
  runHidden,
  spawnExe,
} from './run-executable.js';

const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
if (!built)
  console.warn(`\n*** SKIPPING the executable tests: ${EXECUTABLE} is not built (npm run package; Linux only) ***\n`);
if (built && !canHideNode)
  console.warn(
    '\n*** The executable tests cannot hide Node here (not root, or SECUREFLOW_TEST_HIDE_NODE=0): they run with no node on PATH instead ***\n',
  );

const pgUrl = process.env.SECUREFLOW_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: pgUrl, max: 1, connectionTimeoutMillis: 3000 });
admin.on('error', () => {});
const pgReachable = await admin.query('SELECT 1').then(
  () => true,
  () => false,
);
const pgRequired = process.env.SECUREFLOW_REQUIRE_POSTGRES === '1';
afterAll(() => admin.end());

describe.skipIf(!built && process.platform !== 'linux')('the single executable', () => {
  const user = freshUser();
  copyFileSync(fixture('transactions.csv'), join(user.cwd, 'transactions.csv'));
  copyFileSync(fixture('bad-rows.csv'), join(user.cwd, 'bad-rows.csv'));
  copyFileSync(fixture('labelled.csv'), join(user.cwd, 'labelled.csv'));

  it('runs where Node.js cannot be found', () => {
    expect(built).toBe(true);
    // Only as root can Node's binary itself be hidden (warned above); otherwise it is at least not on PATH.
    const probe = runHidden(
      canHideNode
        ? `node -e 0 2>/dev/null || "${process.execPath}" -e 0 2>/dev/null || echo no-node`
        : 'command -v node || echo no-node',
      user,
    );
    if (!canHideNode) expect(user.env.PATH).not.toMatch(/^\/usr/);
    expect(probe.stdout.trim()).toBe('no-node');
    const r = runExe(['--version'], user);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(version);
  });

  it('scores the fixture into the default SQLite database, exactly as the npm package does', () => {
    const r = runExe(['score', 'transactions.csv'], user);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(11);
    expect(r.stderr).toMatch(/10 rows .* 4 flagged/);
    expect(r.stderr).toMatch(/stored 10 rows as batch/);
    const listed = JSON.parse(runExe(['transactions', 'list', '--format', 'json'], user).stdout) as { total: number };
    expect(listed.total).toBe(10);

    const args = ['score', '--no-store', '--explain', '-f', 'csv', 'transactions.csv'];
    const exe = runExe(args, user);
    const npm = spawnSync(process.execPath, [BIN, ...args], {
      cwd: user.cwd,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(exe.stdout).toBe(npm.stdout);
  });

  it('scores one transaction as JSON, records feedback and shows it', () => {
    const one = runExe(
      [
        'score',
        '--json',
        '{"amount": 4800, "hour": 3, "day_of_week": 6, "merchant_category": 9, "transaction_type": 2}',
        '--format',
        'json',
      ],
      user,
    );
    expect(one.status, one.stderr).toBe(0);
    const result = JSON.parse(one.stdout) as {
      transaction_id: number;
      is_anomaly: boolean;
      shap_explanation: Record<string, number>;
    };
    expect(result.is_anomaly).toBe(true);
    expect(Object.keys(result.shap_explanation)).toHaveLength(5);
    expect(runExe(['feedback', String(result.transaction_id), '--correct'], user).status).toBe(0);
    const shown = runExe(['transactions', 'show', String(result.transaction_id), '--format', 'json'], user);
    expect(shown.stdout).toMatch(/"is_correct": ?true/);
  });

  it('gates a pipeline and reports bad rows by line, without a stack trace', () => {
    expect(runExe(['score', '--no-store', '-q', '--fail-on-anomaly', 'transactions.csv'], user).status).toBe(10);
    const bad = runExe(['score', '--no-store', 'bad-rows.csv'], user);
    expect(bad.status).toBe(3);
    expect(bad.stdout).toMatch(/line/);
    expect(bad.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });

  it('trains, evaluates, and scores on worker threads', () => {
    writeRepeatedFixture('transactions.csv', 40_000, join(user.cwd, 'big.csv'));
    const one = runExe(['score', '--no-store', '-q', '--workers', '1', 'big.csv'], user);
    const two = runExe(['score', '--no-store', '-q', '--workers', '2', 'big.csv'], user);
    expect(two.status, two.stderr).toBe(0);
    expect(two.stdout).toBe(one.stdout);
    expect(two.stdout.split('\n')).toHaveLength(400_002);

    const train = runExe(
      ['train', 'labelled.csv', '--label-column', 'label', '--seed', '7', '--out', 'model.json'],
      user,
    );
    expect(train.status, train.stderr).toBe(0);
    const evaluate = runExe(
      ['evaluate', 'labelled.csv', '--label-column', 'label', '--model', 'model.json', '--format', 'json'],
      user,
    );
    expect(evaluate.status, evaluate.stderr).toBe(0);
    expect(JSON.parse(evaluate.stdout).roc_auc).toBeGreaterThan(0.5);
  });

  it('registers models and manages API keys', () => {
    const train = runExe(
      [
        'train',
        'labelled.csv',
        '--label-column',
        'label',
        '--out',
        'registered.json',
        '--register',
        '--activate',
        '--db',
        'admin.db',
        '-f',
        'json',
      ],
      user,
    );
    expect(train.status, train.stderr).toBe(0);
    const models = JSON.parse(runExe(['models', 'list', '--db', 'admin.db', '-f', 'json'], user).stdout) as unknown[];
    expect(JSON.stringify(models)).toMatch(/"active":\s*true/);
    const key = JSON.parse(
      runExe(['keys', 'create', '--name', 'ci', '--role', 'scorer', '--db', 'admin.db', '-f', 'json'], user).stdout,
    ) as { key: string };
    expect(key.key).toMatch(/^sf_/);
    const listed = runExe(['keys', 'list', '--db', 'admin.db', '-f', 'json'], user).stdout;
    expect(listed).toMatch(/"ci"/);
    expect(listed).not.toContain(key.key);
  });

  it('serves the HTTP API and stops cleanly on SIGTERM', async () => {
    const proc = spawnExe(['serve', '--port', '0', '--db', 'serve.db'], user);
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /"url":"([^"]+)"/.exec(out);
        if (m) resolve(m[1]);
      });
      void exited.then((code) => reject(new Error(`serve exited with ${code}`)));
    });
    const health = (await (await fetch(`${url}/api/health`)).json()) as { status: string };
    expect(health.status).toBe('healthy');
    const predicted = await fetch(`${url}/api/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 20, hour: 11, day_of_week: 2, merchant_category: 1, transaction_type: 0 }),
    });
    expect(predicted.status).toBe(200);
    expect(((await predicted.json()) as { is_anomaly: boolean }).is_anomaly).toBe(false);
    const invalid = await fetch(`${url}/api/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"amount":"x"}',
    });
    expect(invalid.status).toBe(400);
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('applies risk rules to scores, and logs users in to the daemon', async () => {
    const db = ['--db', 'people.db'];
    const added = runExe(['rules', 'add', 'big', '--when', 'amount > 3000.0', '--action', 'block', ...db], user);
    expect(added.status, added.stderr).toBe(0);
    const tx = ['--amount', '5000', '--hour', '2', '--day-of-week', '1', '--merchant-category', '2'];
    const scored = runExe(['score', ...tx, '--transaction-type', '0', ...db, '-f', 'json'], user);
    expect(JSON.parse(scored.stdout)).toMatchObject({
      decision: 'block',
      matched_rules: [{ name: 'big', action: 'block' }],
    });
    const password = 'a long enough password';
    const ana = runExe(['users', 'add', 'ana', '--role', 'admin', '--password-stdin', ...db], user, `${password}\n`);
    expect(ana.status, ana.stderr).toBe(0);
    // No JWT_SECRET on loopback: the daemon makes one and keeps it in the database.
    const proc = spawnExe(['serve', '--port', '0', ...db], user);
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        proc.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /"url":"([^"]+)"/.exec(out);
          if (m) resolve(m[1]);
        });
        void exited.then((code) => reject(new Error(`serve exited with ${code}`)));
      });
      const login = await fetch(`${url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'ana', password }),
      });
      expect(login.status).toBe(200);
      const { token } = (await login.json()) as { token: string };
      expect((await fetch(`${url}/api/rules`)).status).toBe(401); // users exist: never open
      const rules = await fetch(`${url}/api/rules`, { headers: { authorization: `Bearer ${token}` } });
      expect(((await rules.json()) as { rules: { name: string }[] }).rules.map((r) => r.name)).toEqual(['big']);
    } finally {
      proc.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('renders the dashboard once as JSON', () => {
    const r = runExe(['dashboard', '--once', '--format', 'json'], user);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).stats.total_transactions).toBe(11);
  });

  it('runs the live Ink dashboard on a terminal and quits on q', async () => {
    // script(1) gives the executable a pseudo-terminal; q is typed once the first data is on screen.
    const [cmd, argv] = exeCommand(['dashboard']);
    const line = [cmd, ...argv].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' '); // script -c takes one shell line
    const proc = spawn(
      canHideNode ? 'script' : join(user.env.PATH, 'script'),
      ['-qec', `stty cols 100 rows 30; ${line}`, '/dev/null'],
      { cwd: user.cwd, env: { ...user.env, TERM: 'xterm' } },
    );
    let screen = '';
    let typed = false;
    proc.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
      if (!typed && /refreshed/.test(screen)) {
        typed = true;
        proc.stdin.write('q');
      }
    });
    const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
    expect(code).toBe(0);
    expect(screen).toMatch(/secureflow dashboard/);
    expect(screen).toMatch(/Transactions/);
  });

  it.skipIf(!pgReachable && !pgRequired)('migrates and stores into Postgres', async () => {
    const schema = `sf_exe_${process.pid}`;
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    const db = `${pgUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    try {
      expect(runExe(['migrate', '--db', db], user).status).toBe(0);
      const r = runExe(['score', 'transactions.csv', '--db', db, '-q'], user);
      expect(r.status, r.stderr).toBe(0);
      expect((await admin.query(`SELECT count(*)::int AS n FROM ${schema}.transactions`)).rows[0].n).toBe(10);
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
  });

  it('unpacks safely when several first runs start at once, and says so when it cannot unpack', async () => {
    const fresh = freshUser();
    const runs = await Promise.all(
      Array.from(
        { length: 4 },
        () => new Promise<number | null>((resolve) => spawnExe(['--version'], fresh).on('exit', resolve)),
      ),
    );
    expect(runs).toEqual([0, 0, 0, 0]);
    writeFileSync(join(fresh.cwd, 'not-a-folder'), '');
    const blocked = runExe(['--version'], {
      cwd: fresh.cwd,
      env: { ...fresh.env, SECUREFLOW_CACHE_DIR: join(fresh.cwd, 'not-a-folder', 'cache') },
    });
    expect(blocked.status).toBe(6);
    expect(blocked.stderr).toMatch(/cannot unpack .*not-a-folder\/cache: ENOTDIR.*\nSet SECUREFLOW_CACHE_DIR/);
  });

  it('never runs a complete-looking copy planted in a folder others can write to (exit 6, saying why)', () => {
    const fresh = freshUser();
    const own = join(fresh.cwd, 'own');
    expect(runExe(['--version'], { cwd: fresh.cwd, env: { ...fresh.env, SECUREFLOW_CACHE_DIR: own } }).status).toBe(0);
    // Another user's copy: every file and the marker, with a payload as the CLI's entry, in a world-writable folder.
    const shared = join(fresh.cwd, 'shared');
    const [name] = readdirSync(own);
    cpSync(join(own, name), join(shared, name), { recursive: true });
    writeFileSync(join(shared, name, 'app', 'secureflow.js'), "process.stdout.write('PLANTED\\n');\n");
    chmodSync(shared, 0o777);
    const r = runExe(['--version'], { cwd: fresh.cwd, env: { ...fresh.env, SECUREFLOW_CACHE_DIR: shared } });
    expect(r.stdout).not.toContain('PLANTED');
    expect(r.status).toBe(6);
    expect(r.stderr).toMatch(
      /cannot unpack .*shared: not a private directory of this user \(writable by others \(mode 777\)\)/,
    );
  });
});
