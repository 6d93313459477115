/**
 * The group-commit backstop: rows the database itself refuses (a CHECK constraint, past the JS checks) fail only
 * their own callers; the batch is split in halves until they are alone. Real stores, both backends.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, resolveDatabase } from '../../src/db/open-store.js';
import { StoreError } from '../../src/db/shared.js';
import type { NewTransaction, Store } from '../../src/db/store.js';
import { MicroBatcher } from '../../src/daemon/micro-batcher.js';
import { newTransaction } from '../db/store-contract.js';
import { adminPool, freshSchema, pgReachable, pgRequired } from '../support/postgres.js';

const admin = adminPool();
const reachable = await pgReachable(admin);
afterAll(() => admin.end());

async function isolates(store: Store): Promise<void> {
  let calls = 0;
  const writes = new MicroBatcher(
    (rows: NewTransaction[]) => (calls++, store.insertTransactions(rows)),
    1000,
    (e) => e instanceof StoreError && e.kind === 'invalid',
  );
  const bad = new Set([7, 64, 65, 190]);
  const outcomes = await Promise.allSettled(
    Array.from({ length: 200 }, (_, i) =>
      writes.add(newTransaction({ reference: `r${i}`, hour: bad.has(i) ? 24 : i % 24 })),
    ),
  );
  outcomes.forEach((o, i) => {
    if (bad.has(i)) expect(o.status === 'rejected' && (o.reason as StoreError).kind, `row ${i}`).toBe('invalid');
    else expect(o.status, `row ${i}`).toBe('fulfilled');
  });
  const { rows, total } = await store.listTransactions({ limit: 1000 });
  expect(total).toBe(196);
  expect(rows.map((r) => r.reference).sort()).toEqual(
    Array.from({ length: 200 }, (_, i) => i)
      .filter((i) => !bad.has(i))
      .map((i) => `r${i}`)
      .sort(),
  );
  expect(calls).toBeLessThan(60); // halving: a few dozen transactions, not one per row
}

describe('group commit isolates rows the database refuses', () => {
  it('SQLite', async () => {
    const store = await openStore(resolveDatabase(join(mkdtempSync(join(tmpdir(), 'sf-batcher-')), 'b.db'), {}));
    try {
      await isolates(store);
    } finally {
      await store.close();
    }
  });

  it.skipIf(!reachable && !pgRequired)('Postgres', async () => {
    expect(reachable).toBe(true);
    const { schema, url } = await freshSchema(admin, 'sf_batcher');
    const store = await openStore(resolveDatabase(url, {}));
    try {
      await isolates(store);
    } finally {
      await store.close();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
  });
});
