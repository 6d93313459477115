import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, resolveDatabase, StoreError } from '../../src/db/open-store.js';
import { redactUrl } from '../../src/db/shared.js';

const PG = 'postgres://app:s3cr3t-pw@db.internal:5432/prod';

describe('resolveDatabase', () => {
  const env = { HOME: '/home/ann', XDG_DATA_HOME: '/data', SECUREFLOW_DB: '/env/secureflow.db', DATABASE_URL: PG };

  it('takes --db, then SECUREFLOW_DB, then DATABASE_URL, then the default file', () => {
    expect(resolveDatabase('/flag.db', env)).toEqual({ kind: 'sqlite', target: '/flag.db', display: '/flag.db' });
    expect(resolveDatabase(undefined, env)).toEqual({
      kind: 'sqlite',
      target: '/env/secureflow.db',
      display: '/env/secureflow.db',
    });
    expect(resolveDatabase(undefined, { ...env, SECUREFLOW_DB: undefined })).toEqual({
      kind: 'postgres',
      target: PG,
      display: 'postgres://app:***@db.internal:5432/prod',
    });
    expect(resolveDatabase(undefined, { HOME: '/home/ann', XDG_DATA_HOME: '/data' })).toEqual({
      kind: 'sqlite',
      target: '/data/secureflow/secureflow.db',
      display: '/data/secureflow/secureflow.db',
    });
    expect(resolveDatabase(undefined, { HOME: '/home/ann' }).target).toBe(
      '/home/ann/.local/share/secureflow/secureflow.db',
    );
  });

  it('treats empty values as unset, and ignores a relative XDG_DATA_HOME', () => {
    expect(resolveDatabase('', { ...env, SECUREFLOW_DB: '' }).target).toBe(PG);
    expect(
      resolveDatabase(undefined, { HOME: '/home/ann', XDG_DATA_HOME: 'rel', SECUREFLOW_DB: '', DATABASE_URL: '' })
        .target,
    ).toBe('/home/ann/.local/share/secureflow/secureflow.db');
  });

  it('selects Postgres for postgres:// and postgresql:// only', () => {
    expect(resolveDatabase('postgresql://h/db', {}).kind).toBe('postgres');
    expect(resolveDatabase('POSTGRES://h/db', {}).kind).toBe('postgres');
    expect(resolveDatabase('mysql://h/db', {}).kind).toBe('sqlite');
    expect(resolveDatabase('./postgres.db', {}).kind).toBe('sqlite');
    expect(resolveDatabase('~/x.db', { HOME: '/home/ann' }).target).toBe('/home/ann/x.db');
  });

  it('never shows a password', () => {
    const cases: [string, string][] = [
      ['postgres://app:pw@h:5432/db', 'postgres://app:***@h:5432/db'],
      ['postgresql://app:p%40ss%2Fw@h/db?sslmode=require', 'postgresql://app:***@h/db?sslmode=require'],
      ['postgres://app:p@ss/w@h/db', 'postgres://app:***@h/db'], // unencoded @ and / in the password
      ['postgres://app@h/db?password=pw&sslmode=require', 'postgres://app@h/db?password=***&sslmode=require'],
      ['postgres://h/db?sslpassword=pw', 'postgres://h/db?sslpassword=***'],
      ['postgres://app@h/db', 'postgres://app@h/db'],
      ['postgres://:pw@h/db', 'postgres://:***@h/db'],
      // Unencoded '?', '#', '@' and '/' in the password: still all of it masked, the host still shown.
      ['postgres://u:se?cr#et@127.0.0.1:1/db', 'postgres://u:***@127.0.0.1:1/db'],
      ['postgres://u:a@b?c#d/e@host:5/db?x=1', 'postgres://u:***@host:5/db?x=1'],
      ['postgres://u:pw?sslmode=require@h/db', 'postgres://u:***@h/db'],
      ['postgres://app@h:5432/db?application_name=a@b', 'postgres://app@h:5432/db?application_name=a@b'], // a port, no password
      ['postgres://app@h/db?password=p#w&x=1', 'postgres://app@h/db?password=***&x=1'],
    ];
    for (const [url, display] of cases) {
      expect(redactUrl(url)).toBe(display);
      expect(resolveDatabase(url, {}).display).toBe(display);
    }
  });
});

describe('openStore failures', () => {
  const dir = mkdtempSync(join(tmpdir(), 'secureflow-open-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the Postgres database, without its password, and says what failed', async () => {
    // A port with nothing listening: bind one, then close it.
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    await new Promise((r) => server.close(r));
    const resolved = resolveDatabase(`postgres://app:s3cr3t-pw@127.0.0.1:${port}/prod`, {});
    const error = await openStore(resolved).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).kind).toBe('unavailable');
    expect((error as Error).message).toBe(
      `cannot connect to postgres://app:***@127.0.0.1:${port}/prod: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    expect(JSON.stringify(error) + String((error as Error).stack)).not.toContain('s3cr3t');
  });

  it('names the SQLite file and says what failed', async () => {
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, '');
    const target = join(file, 'x.db'); // its "directory" is a file
    const error = await openStore(resolveDatabase(target, {})).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toMatch(new RegExp(`^cannot open ${target}: .*(ENOTDIR|EEXIST)`));
  });

  it('names a file that is not a database', async () => {
    const file = join(dir, 'garbage.db');
    writeFileSync(file, 'this is not a sqlite database, not at all, not even close to one');
    const error = await openStore(resolveDatabase(file, {})).catch((e: unknown) => e);
    expect((error as Error).message).toBe(`cannot open ${file}: file is not a database`);
  });
});
