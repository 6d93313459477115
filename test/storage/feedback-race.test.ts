/**
 * Concurrent verdicts on one transaction through the built daemon: exactly one is "recorded", every other one is
 * "updated" and names the verdict it replaced, and the replaced verdicts are kept as history. None is lost.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnDaemon } from '../cli/daemon-process.js';
import { call } from '../daemon/server-helpers.js';
import { adminPool, freshSchema, pgReachable, pgRequired } from '../support/postgres.js';

const admin = adminPool();
const reachable = await pgReachable(admin);
afterAll(() => admin.end());

const N = 16;

async function race(env: Record<string, string>, history: () => Promise<string[]>): Promise<void> {
  const daemon = await spawnDaemon(['--no-auth'], env);
  try {
    const tx = await call(daemon.url, 'POST', '/api/predict', {
      body: { amount: 5, hour: 2, day_of_week: 3, merchant_category: 1, transaction_type: 0 },
    });
    const id = tx.json.transaction_id;
    const answers = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        call(daemon.url, 'POST', '/api/feedback', {
          body: { transaction_id: id, feedback: i % 2 === 0, comments: `analyst ${i}` },
        }),
      ),
    );
    for (const a of answers) expect(a.status).toBe(200);
    const recorded = answers.filter((a) => a.json.message === 'feedback recorded');
    const updated = answers.filter((a) => a.json.message === 'feedback updated');
    expect(recorded).toHaveLength(1);
    expect(updated).toHaveLength(N - 1);
    expect(recorded[0].json.previous).toBeNull();
    const replaced = updated.map((a) => a.json.previous.notes as string);
    const current = (await call(daemon.url, 'GET', `/api/transactions/${id}`)).json;
    const finalNotes = current.feedback?.notes ?? current.feedback_notes ?? null;
    // Every verdict is either the current one or was replaced (and kept) exactly once.
    const all = [...replaced, finalNotes].sort();
    expect(all).toEqual(Array.from({ length: N }, (_, i) => `analyst ${i}`).sort());
    expect((await history()).sort()).toEqual(replaced.sort());
  } finally {
    await daemon.stop();
  }
}

describe('concurrent verdicts on one transaction (built daemon)', () => {
  it('SQLite', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sf-feedback-')), 'f.db');
    await race({ SECUREFLOW_DB: file }, async () => {
      const db = new Database(file, { readonly: true });
      try {
        return db.prepare('SELECT notes FROM feedback_history').pluck().all() as string[];
      } finally {
        db.close();
      }
    });
  }, 60_000);

  it.skipIf(!reachable && !pgRequired)(
    'Postgres',
    async () => {
      expect(reachable).toBe(true);
      const { schema, url } = await freshSchema(admin, 'sf_feedback');
      try {
        await race({ DATABASE_URL: url }, async () =>
          (await admin.query(`SELECT notes FROM ${schema}.feedback_history`)).rows.map((r) => r.notes),
        );
      } finally {
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      }
    },
    60_000,
  );
});
