/**
 * The behaviour every Store backend must share, run against each (sqlite.test.ts, postgres.test.ts).
 * Each test gets a fresh, migrated, empty store from `makeStore` and cleans it up afterwards.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StoreError } from '../../src/db/shared.js';
import { RowsAbandoned, type NewTransaction, type Store } from '../../src/db/store.js';

export interface StoreHarness {
  store: Store;
  cleanup: () => Promise<void>;
}

export const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A valid transaction; `over` changes fields. */
export function newTransaction(over: Partial<NewTransaction> = {}): NewTransaction {
  return {
    reference: null,
    amount: 42.5,
    hour: 13,
    day_of_week: 2,
    merchant_category: 3,
    transaction_type: 0,
    is_fraudulent: false,
    anomaly_score: 0.41,
    risk_score: 37.5,
    risk_level: 'normal',
    confidence: 0.8,
    explanation: null,
    model_version: 'm1',
    source: 'test',
    batch_id: null,
    decision: 'allow',
    matched_rules: [],
    ...over,
  };
}

/** 1,000 rows whose every field varies, with strings that stress quoting (arrays, JSON, CSV). */
function variedRows(n: number): NewTransaction[] {
  const awkward = ['', 'NULL', 'a"b\\c', '{x,y}', 'comma, "quote"', 'ünï😀', "it's", 'tab\there\nnewline'];
  return Array.from({ length: n }, (_, i) => ({
    reference: i % 7 === 0 ? null : `${awkward[i % awkward.length]}-${i}`,
    amount: i === 0 ? 0 : i * 13.37 + 1e-9 * i,
    hour: i % 24,
    day_of_week: i % 7,
    merchant_category: i % 11,
    transaction_type: i % 4,
    is_fraudulent: i % 5 === 0,
    anomaly_score: 0.3 + (i % 100) / 1000 + 1 / 3,
    risk_score: (i * 7.3) % 100,
    risk_level: ['normal', 'elevated', 'highest'][i % 3],
    confidence: (i % 97) / 97,
    explanation:
      i % 3 === 0
        ? null
        : {
            shap_explanation: { amount: i / 1000, hour: -i / 7 },
            risk_factors: [{ feature: 'amount', description: awkward[i % awkward.length] }],
          },
    model_version: `model-${i % 2}`,
    source: i % 2 ? 'cli' : 'api',
    batch_id: 'big',
    decision: (['allow', 'review', 'block'] as const)[i % 3],
    matched_rules:
      i % 4 === 0
        ? []
        : i % 4 === 1
          ? [{ name: 'high_amount', action: 'block' as const }]
          : [
              { name: 'vip.allow-list_2', action: 'allow' as const },
              { name: `night-${i % 9}`, action: 'review' as const },
            ],
  }));
}

export function storeContract(name: string, makeStore: () => Promise<StoreHarness>): void {
  describe(`${name} store contract`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });
    afterEach(async () => {
      await cleanup();
    });

    describe('migrations', () => {
      it('are applied on open, so migrate() twice is a no-op', async () => {
        expect(await store.migrate()).toEqual([]);
        expect(await store.migrate()).toEqual([]);
        expect(await store.listTransactions({ limit: 1 })).toEqual({ rows: [], total: 0 });
      });
    });

    describe('transactions', () => {
      it('inserts nothing for an empty list', async () => {
        expect(await store.insertTransactions([])).toEqual([]);
        expect((await store.listTransactions({ limit: 10 })).total).toBe(0);
      });

      it('assigns integer ids in insertion order and round-trips a row', async () => {
        const before = Date.now();
        const row = newTransaction({
          reference: 'order-1',
          is_fraudulent: true,
          explanation: { shap_explanation: { amount: 0.5 } },
          batch_id: 'b1',
        });
        const ids = await store.insertTransactions([newTransaction(), row, newTransaction()]);
        expect(ids).toEqual([1, 2, 3]);
        expect(await store.insertTransactions([newTransaction()])).toEqual([4]);
        const got = await store.getTransaction(2);
        expect(got).toStrictEqual({ ...row, id: 2, created_at: expect.stringMatching(ISO), feedback: null });
        const at = Date.parse(got!.created_at);
        expect(at).toBeGreaterThanOrEqual(before - 1000); // the database's clock may be a little behind
        expect(at).toBeLessThanOrEqual(Date.now() + 1000);
      });

      it('stores 1,000 rows in one call: increasing ids, every field intact', async () => {
        const rows = variedRows(1000);
        const ids = await store.insertTransactions(rows);
        expect(ids).toHaveLength(1000);
        ids.forEach((id, i) => {
          expect(Number.isInteger(id)).toBe(true);
          if (i > 0) expect(id).toBeGreaterThan(ids[i - 1]);
        });
        const { rows: stored, total } = await store.listTransactions({ batchId: 'big', limit: 2000 });
        expect(total).toBe(1000);
        // Same created_at for the whole call, so newest first means highest id first.
        const byId = new Map(stored.map((r) => [r.id, r]));
        expect(stored.map((r) => r.id)).toEqual([...ids].reverse());
        rows.forEach((row, i) => {
          expect(byId.get(ids[i])).toStrictEqual({ ...row, id: ids[i], created_at: expect.stringMatching(ISO) });
        });
      });

      it('writes an explanation the caller serialised already as it is, in a small insert and a bulk one', async () => {
        // The text wins over the object (it is the object serialised; different here to see which was written).
        const row = (i: number) =>
          newTransaction({
            explanation: { risk_factors: [] },
            explanation_json: JSON.stringify({ shap_explanation: { amount: i / 8 }, risk_factors: [] }),
            batch_id: 'serialised',
          });
        for (const n of [1, 2500]) {
          const ids = await store.insertTransactions(Array.from({ length: n }, (_, i) => row(i)));
          const last = await store.getTransaction(ids[n - 1]);
          expect(last!.explanation).toEqual({ shap_explanation: { amount: (n - 1) / 8 }, risk_factors: [] });
          expect(last).not.toHaveProperty('explanation_json');
        }
      });

      it('stores rows made while the insert runs (ready) as one insert: ids in order, every field intact', async () => {
        for (const n of [1500, 2500]) {
          // Below and above Postgres's COPY threshold: the array insert waits for every row, COPY streams them.
          const rows = variedRows(n).map((r) => ({ ...r, batch_id: `ready-${n}` }));
          let made = 0;
          const waits: number[] = [];
          const ready = (count: number) => {
            waits.push(count);
            return new Promise<number>((resolve) =>
              setTimeout(() => {
                made = Math.min(n, Math.max(made, count) + 700);
                resolve(made);
              }, 5),
            );
          };
          const ids = await store.insertTransactions({ length: n, at: (i) => (i < made ? rows[i] : undefined), ready });
          expect(waits.length).toBeGreaterThan(0);
          expect(ids).toHaveLength(n);
          ids.forEach((id, i) => {
            if (i > 0) expect(id).toBe(ids[i - 1] + 1);
          });
          const { rows: stored, total } = await store.listTransactions({ batchId: `ready-${n}`, limit: 3000 });
          expect(total).toBe(n);
          const byId = new Map(stored.map((r) => [r.id, r]));
          rows.forEach((row, i) => {
            expect(byId.get(ids[i])).toStrictEqual({ ...row, id: ids[i], created_at: expect.stringMatching(ISO) });
          });
        }
      });

      it('stores nothing when the rows being made are abandoned (RowsAbandoned), and stores again after', async () => {
        for (const n of [1500, 2500]) {
          const rows = Array.from({ length: n }, () => newTransaction({ batch_id: 'abandoned' }));
          // The first 1,000 rows are made, the rest never: COPY has written those when it hears of it.
          const ready = (count: number) =>
            count <= 1000 ? Promise.resolve(1000) : Promise.reject(new RowsAbandoned());
          const error = await store
            .insertTransactions({ length: n, at: (i) => rows[i], ready })
            .catch((e: unknown) => e);
          expect(error).toBeInstanceOf(RowsAbandoned);
        }
        expect((await store.listTransactions({ batchId: 'abandoned', limit: 10 })).total).toBe(0);
        expect(await store.insertTransactions([newTransaction()])).toHaveLength(1);
      });

      it('stores nothing of a batch with an invalid row', async () => {
        await store.insertTransactions([newTransaction()]);
        const bad: Partial<NewTransaction>[] = [
          { amount: Number.NaN }, // rejected before the database sees it
          { amount: null as unknown as number },
          { source: null as unknown as string },
          { hour: 24 }, // rejected by the database's CHECK, after earlier rows of the batch were written
          { day_of_week: -1 },
          { merchant_category: 2 ** 31 }, // beyond Postgres's integer: refused by both
          { transaction_type: 1.5 },
        ];
        for (const over of bad) {
          const batch = [
            newTransaction({ batch_id: 'doomed' }),
            newTransaction({ batch_id: 'doomed' }),
            newTransaction({ batch_id: 'doomed', ...over }),
          ];
          const error = await store.insertTransactions(batch).catch((e: unknown) => e);
          expect(error, JSON.stringify(over)).toBeInstanceOf(StoreError);
          expect((error as StoreError).kind).toBe('invalid');
        }
        expect((await store.listTransactions({ limit: 10 })).total).toBe(1);
        expect((await store.listTransactions({ batchId: 'doomed', limit: 10 })).total).toBe(0);
        const [next] = await store.insertTransactions([newTransaction()]);
        expect(next).toBeGreaterThan(1);
      });

      it('answers null for unknown or impossible ids', async () => {
        await store.insertTransactions([newTransaction()]);
        for (const id of [2, 0, -1, 1.5, Number.NaN, 2 ** 60]) expect(await store.getTransaction(id)).toBeNull();
      });

      it('lists newest first with a total that ignores limit and offset, filtered by anomalies, since and batch', async () => {
        const old = await store.insertTransactions([
          newTransaction({ batch_id: 'a' }),
          newTransaction({ batch_id: 'a', is_fraudulent: true }),
          newTransaction({ batch_id: 'a' }),
        ]);
        await sleep(15);
        const mid = new Date();
        await sleep(15);
        const recent = await store.insertTransactions([
          newTransaction({ batch_id: 'b', is_fraudulent: true }),
          newTransaction({ batch_id: 'b' }),
          newTransaction({ batch_id: 'b', is_fraudulent: true }),
        ]);
        const ids = async (q: Parameters<Store['listTransactions']>[0]) => {
          const r = await store.listTransactions(q);
          return { ids: r.rows.map((x) => x.id), total: r.total };
        };
        expect(await ids({ limit: 10 })).toEqual({ ids: [...recent].reverse().concat([...old].reverse()), total: 6 });
        expect(await ids({ limit: 2 })).toEqual({ ids: [recent[2], recent[1]], total: 6 });
        expect(await ids({ limit: 2, offset: 2 })).toEqual({ ids: [recent[0], old[2]], total: 6 });
        expect(await ids({ limit: 2, offset: 10 })).toEqual({ ids: [], total: 6 });
        expect(await ids({ limit: 0 })).toEqual({ ids: [], total: 6 });
        expect(await ids({ limit: 10, anomaliesOnly: true })).toEqual({
          ids: [recent[2], recent[0], old[1]],
          total: 3,
        });
        expect(await ids({ limit: 10, anomaliesOnly: false })).toMatchObject({ total: 6 });
        expect(await ids({ limit: 10, since: mid })).toEqual({ ids: [...recent].reverse(), total: 3 });
        expect(await ids({ limit: 10, since: new Date(Date.now() + 60_000) })).toEqual({ ids: [], total: 0 });
        expect(await ids({ limit: 10, batchId: 'a' })).toEqual({ ids: [...old].reverse(), total: 3 });
        expect(await ids({ limit: 1, batchId: 'a', anomaliesOnly: true })).toEqual({ ids: [old[1]], total: 1 });
        expect(await ids({ limit: 10, batchId: 'a', since: mid })).toEqual({ ids: [], total: 0 });
        expect(await ids({ limit: 10, batchId: 'b', since: mid, anomaliesOnly: true })).toEqual({
          ids: [recent[2], recent[0]],
          total: 2,
        });
        expect(await ids({ limit: 10, batchId: 'nope' })).toEqual({ ids: [], total: 0 });
      });

      it('lists recent flagged rows with their verdicts as listTransactions orders them, in one call', async () => {
        const old = await store.insertTransactions([newTransaction({ is_fraudulent: true })]);
        await sleep(15);
        const mid = new Date();
        await sleep(15);
        const explanation = { shap_explanation: { amount: 0.5 }, risk_factors: [{ feature: 'amount' }] };
        const ids = await store.insertTransactions([
          newTransaction({ is_fraudulent: true, reference: 'a', explanation }),
          newTransaction({ is_fraudulent: false }),
          newTransaction({ is_fraudulent: true, reference: 'c' }),
          newTransaction({ is_fraudulent: true, reference: 'd' }),
        ]);
        await store.upsertFeedback(ids[0], true, 'right');
        await store.upsertFeedback(ids[3], true, null);
        await store.upsertFeedback(ids[3], false, 'wrong after all');
        await store.upsertFeedback(ids[1], true, null); // not flagged: not listed
        const flagged = await store.recentFlagged(mid, 10);
        const listed = await store.listTransactions({ anomaliesOnly: true, since: mid, limit: 10 });
        expect(flagged.map((r) => r.id)).toEqual([ids[3], ids[2], ids[0]]);
        // Each row equals what getTransaction answers: the same columns and the current verdict.
        for (const [i, row] of flagged.entries()) {
          expect(row).toStrictEqual(await store.getTransaction(row.id));
          const { feedback: _, ...transaction } = row;
          expect(transaction).toStrictEqual(listed.rows[i]);
        }
        expect(flagged[0].feedback).toMatchObject({
          transaction_id: ids[3],
          is_correct: false,
          notes: 'wrong after all',
        });
        expect(flagged[1].feedback).toBeNull();
        expect(flagged[2]).toMatchObject({ explanation, feedback: { is_correct: true, notes: 'right' } });
        expect((await store.recentFlagged(mid, 2)).map((r) => r.id)).toEqual([ids[3], ids[2]]);
        expect(await store.recentFlagged(mid, 0)).toEqual([]);
        expect((await store.recentFlagged(new Date(0), 10)).map((r) => r.id)).toEqual([ids[3], ids[2], ids[0], old[0]]);
        await expect(store.recentFlagged(mid, -1)).rejects.toMatchObject({ kind: 'invalid' });
        await expect(store.recentFlagged(new Date('nope'), 1)).rejects.toMatchObject({ kind: 'invalid' });
      });

      it('lists reviewed transactions with their flag and current verdict, oldest first', async () => {
        const before = (await store.reviewedTransactions()).length;
        const ids = await store.insertTransactions([
          newTransaction({ is_fraudulent: true, amount: 4800, hour: 3 }),
          newTransaction({ is_fraudulent: false }),
          newTransaction({ is_fraudulent: true }),
        ]);
        await store.upsertFeedback(ids[0], true, null);
        await store.upsertFeedback(ids[1], true, null);
        await store.upsertFeedback(ids[1], false, 'missed'); // the current verdict counts
        const reviewed = (await store.reviewedTransactions()).slice(before);
        expect(reviewed).toStrictEqual([
          {
            id: ids[0],
            amount: 4800,
            hour: 3,
            day_of_week: reviewed[0].day_of_week,
            merchant_category: reviewed[0].merchant_category,
            transaction_type: reviewed[0].transaction_type,
            is_fraudulent: true,
            is_correct: true,
          },
          expect.objectContaining({ id: ids[1], is_fraudulent: false, is_correct: false }),
        ]);
        for (const r of reviewed) {
          const t = await store.getTransaction(r.id);
          expect([r.day_of_week, r.merchant_category, r.transaction_type]).toEqual([
            t!.day_of_week,
            t!.merchant_category,
            t!.transaction_type,
          ]);
        }
      });

      it('rejects a negative limit or offset and an invalid date', async () => {
        for (const q of [
          { limit: -1 },
          { limit: 1, offset: -1 },
          { limit: 1.5 },
          { limit: 1, since: new Date('nope') },
        ]) {
          await expect(store.listTransactions(q)).rejects.toMatchObject({ kind: 'invalid' });
        }
      });

      it('refuses dates outside years 1..9999 alike (SQLite compared them as text, Postgres refused some)', async () => {
        await store.insertTransactions([newTransaction()]);
        for (const iso of [
          '+275760-09-13T00:00:00.000Z',
          '+010000-01-01T00:00:00.000Z',
          '-000001-01-01T00:00:00.000Z',
          '0000-12-31T23:59:59.999Z',
        ]) {
          const since = new Date(iso);
          await expect(store.listTransactions({ limit: 1, since }), iso).rejects.toMatchObject({
            kind: 'invalid',
            field: 'since',
          });
          await expect(store.dashboard(since), iso).rejects.toMatchObject({ kind: 'invalid' });
        }
        expect((await store.listTransactions({ limit: 1, since: new Date('0001-01-01T00:00:00.000Z') })).total).toBe(1);
        expect((await store.listTransactions({ limit: 1, since: new Date('9999-12-31T23:59:59.999Z') })).total).toBe(0);
      });

      it('refuses text it cannot store as given (NUL, unpaired surrogates) alike, naming the field', async () => {
        const [id] = await store.insertTransactions([newTransaction()]);
        for (const [over, field] of [
          [{ reference: 'a\u0000b' }, 'reference'],
          [{ reference: 'x\ud800' }, 'reference'],
          [{ batch_id: '\udc00' }, 'batch_id'],
          [{ source: 'a\u0000' }, 'source'],
        ] as [Partial<NewTransaction>, string][]) {
          const error = await store
            .insertTransactions([newTransaction(), newTransaction(over)])
            .catch((e: unknown) => e);
          expect(error, field).toMatchObject({ kind: 'invalid', field });
          expect((error as Error).message).toMatch(new RegExp(`transaction 2 of 2: ${field}`));
        }
        await expect(store.upsertFeedback(id, true, 'bad\u0000note')).rejects.toMatchObject({
          kind: 'invalid',
          field: 'notes',
        });
        await expect(store.createKey('k\u0000', 'viewer', 'hash')).rejects.toMatchObject({
          kind: 'invalid',
          field: 'name',
        });
        // A paired surrogate (an emoji) is fine.
        expect(await store.insertTransactions([newTransaction({ reference: 'ok 😀' })])).toHaveLength(1);
        expect((await store.listTransactions({ limit: 10 })).total).toBe(2);
      });
    });

    describe('feedback', () => {
      it('is null for an unknown transaction', async () => {
        expect(await store.upsertFeedback(1, true, null)).toBeNull();
        expect(await store.upsertFeedback(-3, true, null)).toBeNull();
      });

      it('inserts, then updates the one verdict, keeping its id and created_at', async () => {
        const [id] = await store.insertTransactions([newTransaction()]);
        const first = await store.upsertFeedback(id, true, 'confirmed');
        expect(first).toStrictEqual({
          id: 1,
          transaction_id: id,
          is_correct: true,
          notes: 'confirmed',
          created_at: expect.stringMatching(ISO),
          updated_at: first!.created_at,
          recorded_by: null,
          previous: null,
        });
        await sleep(15);
        const second = await store.upsertFeedback(id, false, null);
        expect(second).toStrictEqual({
          id: first!.id,
          transaction_id: id,
          is_correct: false,
          notes: null,
          created_at: first!.created_at,
          updated_at: expect.stringMatching(ISO),
          recorded_by: null,
          previous: { is_correct: true, notes: 'confirmed', recorded_by: null, recorded_at: first!.updated_at },
        });
        expect(Date.parse(second!.updated_at)).toBeGreaterThan(Date.parse(first!.updated_at));
        const { previous: _, ...current } = second!;
        expect((await store.getTransaction(id))!.feedback).toStrictEqual(current);
      });

      it('records who gave each verdict and keeps every replaced one, with its author, oldest first', async () => {
        const [id, other] = await store.insertTransactions([newTransaction(), newTransaction()]);
        expect(await store.feedbackHistory(id)).toStrictEqual([]);
        const first = await store.upsertFeedback(id, true, 'looks fraudulent', 'alice');
        expect(first).toMatchObject({ recorded_by: 'alice', previous: null });
        await sleep(5);
        const second = await store.upsertFeedback(id, false, null, 'key:ci-bot');
        expect(second).toMatchObject({
          recorded_by: 'key:ci-bot',
          previous: { is_correct: true, notes: 'looks fraudulent', recorded_by: 'alice' },
        });
        await sleep(5);
        const third = await store.upsertFeedback(id, true, 'confirmed by the bank', 'bob');
        await store.upsertFeedback(other, true, null, 'carol');
        expect(await store.feedbackHistory(id)).toStrictEqual([
          {
            is_correct: true,
            notes: 'looks fraudulent',
            recorded_by: 'alice',
            recorded_at: first!.updated_at,
            replaced_at: second!.updated_at,
          },
          {
            is_correct: false,
            notes: null,
            recorded_by: 'key:ci-bot',
            recorded_at: second!.updated_at,
            replaced_at: third!.updated_at,
          },
        ]);
        expect((await store.getTransaction(id))!.feedback).toMatchObject({ recorded_by: 'bob', is_correct: true });
        expect((await store.feedbackOf([id, other])).map((f) => f.recorded_by)).toEqual(['bob', 'carol']);
        expect((await store.recentFlagged(new Date(0), 10)).length).toBe(0);
        expect(await store.feedbackHistory(999)).toStrictEqual([]);
        await expect(store.upsertFeedback(id, true, null, 'nul\u0000')).rejects.toMatchObject({
          kind: 'invalid',
          details: { field: 'recorded_by' },
        });
      });

      it('records concurrent verdicts one after the other: one first, each other replacing exactly one', async () => {
        const [id] = await store.insertTransactions([newTransaction()]);
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) => store.upsertFeedback(id, i % 2 === 0, `verdict ${i}`)),
        );
        expect(results.filter((r) => r!.previous === null)).toHaveLength(1);
        // Every verdict but the last one standing was replaced exactly once: a chain, nothing lost or told twice.
        const replaced = results.map((r) => r!.previous?.notes).filter((n) => n !== undefined);
        const final = (await store.getTransaction(id))!.feedback!;
        expect(new Set([...replaced, final.notes]).size).toBe(12);
        expect([...replaced, final.notes].sort()).toEqual(Array.from({ length: 12 }, (_, i) => `verdict ${i}`).sort());
      });
    });

    describe('dashboard', () => {
      it('is all zeros, with 24 hours, when there is nothing', async () => {
        const d = await store.dashboard(new Date(0));
        expect(d).toStrictEqual({
          total_transactions: 0,
          anomalies_detected: 0,
          avg_anomaly_score: 0,
          anomaly_rate: 0,
          hourly_distribution: Array.from({ length: 24 }, (_, hour) => ({ hour, total_transactions: 0, anomalies: 0 })),
          risk_levels: { normal: 0, elevated: 0, highest: 0 },
          feedback: { total_feedback: 0, positive_feedback: 0, accuracy: 0 },
        });
      });

      it('breaks rows down by risk level, and keeps it true when rows are deleted', async () => {
        await store.insertTransactions([
          newTransaction({ risk_level: 'normal' }),
          newTransaction({ risk_level: 'elevated' }),
          newTransaction({ risk_level: 'elevated', hour: 2 }),
          newTransaction({ risk_level: 'highest', is_fraudulent: true }),
        ]);
        expect((await store.dashboard(new Date(0))).risk_levels).toEqual({ normal: 1, elevated: 2, highest: 1 });
        expect((await store.dashboard(new Date(Date.now() - 60_000))).risk_levels).toEqual({
          normal: 1,
          elevated: 2,
          highest: 1,
        });
      });

      it('hands out stored traffic for drift in slices: features, scores, which rows a model scored', async () => {
        await store.insertTransactions([
          newTransaction({ amount: 5, hour: 3, anomaly_score: 0.4 }),
          newTransaction({ amount: 10, merchant_category: 12, anomaly_score: 0.5 }),
          newTransaction({ amount: 10.01, transaction_type: 2, anomaly_score: 0.51 }),
          newTransaction({ amount: 5000, day_of_week: 6, anomaly_score: 0.9, model_version: 'm2' }),
          newTransaction({ amount: 7, anomaly_score: 0.45 }),
        ]);
        const slices = [];
        for await (const s of store.trafficSlices(new Date(Date.now() - 3_600_000), 'm1', 2)) slices.push(s);
        expect(slices.map((s) => s.count)).toEqual([2, 2, 1]);
        const features = slices.flatMap((s) => Array.from(s.features));
        expect(features).toEqual([
          ...[5, 3, 2, 3, 0],
          ...[10, 13, 2, 12, 0],
          ...[10.01, 13, 2, 3, 2],
          ...[5000, 13, 6, 3, 0],
          ...[7, 13, 2, 3, 0],
        ]);
        expect(slices.flatMap((s) => Array.from(s.anomalyScores))).toEqual([0.4, 0.5, 0.51, 0.9, 0.45]);
        expect(slices.flatMap((s) => Array.from(s.scoredBy))).toEqual([1, 1, 1, 0, 1]);
        // One slice when it fits; nothing for an empty window; no row scored by an unknown model.
        const all = [];
        for await (const s of store.trafficSlices(new Date(0), 'unknown')) all.push(s);
        expect(all).toHaveLength(1);
        expect(Array.from(all[0].scoredBy)).toEqual([0, 0, 0, 0, 0]);
        for await (const _ of store.trafficSlices(new Date(Date.now() + 60_000), 'm1')) expect.unreachable();
      });

      it('pages through stored traffic for training in id order: features, ids, confirmed fraud by the verdicts', async () => {
        const all = async (query?: Parameters<Store['trainingPages']>[0]) => {
          const pages = [];
          for await (const p of store.trainingPages(query)) pages.push(p);
          return {
            counts: pages.map((p) => p.count),
            ids: pages.flatMap((p) => Array.from(p.ids)),
            features: pages.flatMap((p) => Array.from(p.features)),
            fraud: pages.flatMap((p) => Array.from(p.confirmedFraud)),
          };
        };
        expect(await all()).toEqual({ counts: [], ids: [], features: [], fraud: [] });
        const old = await store.insertTransactions([
          newTransaction({ amount: 5, hour: 3, is_fraudulent: true }), // flagged, verdict right: fraud
          newTransaction({ amount: 6, is_fraudulent: true }), // flagged, verdict wrong: a false alarm
          newTransaction({ amount: 7 }), // passed, verdict wrong: missed fraud
        ]);
        await sleep(15);
        const mid = new Date();
        await sleep(15);
        const recent = await store.insertTransactions([
          newTransaction({ amount: 8, day_of_week: 6 }), // passed, verdict right: not fraud
          newTransaction({ amount: 9.25, merchant_category: 12, transaction_type: 2 }), // no verdict
          newTransaction({ amount: 10, is_fraudulent: true }), // flagged, no verdict: not confirmed
          newTransaction({ amount: 11, is_fraudulent: true }), // right, then wrong: the current verdict counts
        ]);
        await store.upsertFeedback(old[0], true, null);
        await store.upsertFeedback(old[1], false, null);
        await store.upsertFeedback(old[2], false, 'missed');
        await store.upsertFeedback(recent[0], true, null);
        await store.upsertFeedback(recent[3], true, null);
        await store.upsertFeedback(recent[3], false, 'not fraud after all');
        const ids = [...old, ...recent];
        const everything = await all({ pageRows: 3 });
        expect(everything).toEqual({
          counts: [3, 3, 1],
          ids,
          features: [
            ...[5, 3, 2, 3, 0],
            ...[6, 13, 2, 3, 0],
            ...[7, 13, 2, 3, 0],
            ...[8, 13, 6, 3, 0],
            ...[9.25, 13, 2, 12, 2],
            ...[10, 13, 2, 3, 0],
            ...[11, 13, 2, 3, 0],
          ],
          fraud: [1, 0, 1, 0, 0, 0, 0],
        });
        // One page when it fits (the default page); pages of one; the window since a moment; up to an id.
        expect(await all()).toEqual({ ...everything, counts: [7] });
        expect((await all({ pageRows: 1 })).counts).toEqual([1, 1, 1, 1, 1, 1, 1]);
        expect(await all({ since: mid })).toMatchObject({ ids: recent, fraud: [0, 0, 0, 0] });
        expect(await all({ untilId: old[2], pageRows: 2 })).toMatchObject({
          counts: [2, 1],
          ids: old,
          fraud: [1, 0, 1],
        });
        expect((await all({ since: mid, untilId: recent[1] })).ids).toEqual(recent.slice(0, 2));
        expect((await all({ since: mid, untilId: old[2] })).ids).toEqual([]);
        expect((await all({ untilId: ids[6] + 1000 })).ids).toEqual(ids);
        expect((await all({ since: new Date(Date.now() + 60_000) })).ids).toEqual([]);
        // Rows stored after the walk began are not read: it ends at the highest id when it started.
        const walk = store.trainingPages({ pageRows: 4 });
        const firstPage = await walk.next();
        await store.insertTransactions([newTransaction({ amount: 99 })]);
        const rest = [];
        for await (const p of walk) rest.push(...p.ids);
        expect([...Array.from((firstPage.value as { ids: Float64Array }).ids), ...rest]).toEqual(ids);
        for (const query of [
          { pageRows: 0 },
          { pageRows: 1.5 },
          { untilId: 0 },
          { untilId: -3 },
          { since: new Date('nope') },
        ])
          await expect(all(query)).rejects.toMatchObject({ name: 'StoreError', kind: 'invalid' });
      });

      it('bins throughput over the window, oldest first', async () => {
        const since = new Date(Date.now() - 3_600_000);
        await store.insertTransactions([
          newTransaction(),
          newTransaction({ is_fraudulent: true, risk_level: 'highest' }),
        ]);
        const bins = await store.throughput(since, 12);
        expect(bins).toHaveLength(12);
        expect(Date.parse(bins[0].start)).toBe(since.getTime());
        expect(Date.parse(bins[1].start) - Date.parse(bins[0].start)).toBeCloseTo(300_000, -3);
        expect(bins.reduce((s, b) => s + b.total, 0)).toBe(2);
        expect(bins.reduce((s, b) => s + b.anomalies, 0)).toBe(1);
        expect(bins[11]).toMatchObject({ total: 2, anomalies: 1 }); // just now: the newest bin
      });

      it('counts transactions since a date, by hour, with rounded rates and feedback accuracy', async () => {
        const [oldId] = await store.insertTransactions([
          newTransaction({ hour: 5, is_fraudulent: true, anomaly_score: 0.99 }),
        ]);
        await store.upsertFeedback(oldId, false, null);
        await sleep(15);
        const since = new Date();
        await sleep(15);
        const ids = await store.insertTransactions([
          newTransaction({ hour: 0, anomaly_score: 0.1 }),
          newTransaction({ hour: 0, anomaly_score: 0.2, is_fraudulent: true }),
          newTransaction({ hour: 23, anomaly_score: 0.3 }),
          newTransaction({ hour: 7, anomaly_score: 0.123456789 }),
          newTransaction({ hour: 7, anomaly_score: 0.7 }),
          newTransaction({ hour: 7, anomaly_score: 0.8, is_fraudulent: true }),
        ]);
        await store.upsertFeedback(ids[0], true, null);
        await store.upsertFeedback(ids[1], true, 'yes');
        await store.upsertFeedback(ids[2], false, null);
        const d = await store.dashboard(since);
        expect(d.total_transactions).toBe(6);
        expect(d.anomalies_detected).toBe(2);
        expect(d.avg_anomaly_score).toBe(0.370576); // 2.223456789 / 6, to 6 decimals
        expect(d.anomaly_rate).toBe(33.33);
        expect(d.hourly_distribution).toHaveLength(24);
        expect(d.hourly_distribution[0]).toEqual({ hour: 0, total_transactions: 2, anomalies: 1 });
        expect(d.hourly_distribution[5]).toEqual({ hour: 5, total_transactions: 0, anomalies: 0 });
        expect(d.hourly_distribution[7]).toEqual({ hour: 7, total_transactions: 3, anomalies: 1 });
        expect(d.hourly_distribution[23]).toEqual({ hour: 23, total_transactions: 1, anomalies: 0 });
        expect(d.feedback).toEqual({ total_feedback: 3, positive_feedback: 2, accuracy: 66.67 });
        const all = await store.dashboard(new Date(0));
        expect(all).toMatchObject({
          total_transactions: 7,
          anomalies_detected: 3,
          anomaly_rate: 42.86,
          feedback: { total_feedback: 4, positive_feedback: 2, accuracy: 50 },
        });
        expect(all.hourly_distribution[5]).toEqual({ hour: 5, total_transactions: 1, anomalies: 1 });
      });
    });

    describe('counting across minutes', () => {
      // Totals and the dashboard read whole minutes from a rollup and the first, partial minute from the rows
      // themselves: check them against plain counting for every kind of boundary. Times come from the
      // application's clock in both backends, so a fake clock places the rows.
      it('agrees with counting the rows one by one, whatever `since` is', async () => {
        const inserted: { at: string; id: number; row: NewTransaction }[] = [];
        vi.useFakeTimers({ toFake: ['Date'] });
        try {
          const at = async (iso: string, rows: NewTransaction[]) => {
            vi.setSystemTime(new Date(iso));
            const ids = await store.insertTransactions(rows);
            rows.forEach((row, i) => {
              inserted.push({ at: iso, id: ids[i], row });
            });
          };
          await at('2030-01-01T12:00:30.000Z', [
            newTransaction({ hour: 1, is_fraudulent: true, anomaly_score: 0.9 }),
            newTransaction({ hour: 1, anomaly_score: 0.1 }),
          ]);
          await at('2030-01-01T12:00:50.000Z', [newTransaction({ hour: 2, anomaly_score: 0.2 })]);
          await at('2030-01-01T12:01:00.000Z', [newTransaction({ hour: 1, is_fraudulent: true, anomaly_score: 0.8 })]);
          await at('2030-01-01T12:01:00.000Z', [newTransaction({ hour: 1, anomaly_score: 0.3 })]); // same minute, same hour: adds up
          await at('2030-01-01T12:03:20.000Z', [
            newTransaction({ hour: 3, anomaly_score: 0.4 }),
            newTransaction({ hour: 3, is_fraudulent: true }),
            newTransaction({ hour: 23 }),
          ]);
          await at('2030-01-01T12:59:59.999Z', [newTransaction({ hour: 0, is_fraudulent: true, anomaly_score: 0.7 })]);
        } finally {
          vi.useRealTimers();
        }
        const sinces = [
          '2030-01-01T11:00:00.000Z',
          '2030-01-01T12:00:30.000Z',
          '2030-01-01T12:00:30.001Z',
          '2030-01-01T12:00:40.000Z',
          '2030-01-01T12:00:59.999Z',
          '2030-01-01T12:01:00.000Z',
          '2030-01-01T12:01:00.001Z',
          '2030-01-01T12:02:00.000Z',
          '2030-01-01T12:03:20.000Z',
          '2030-01-01T12:59:59.998Z',
          '2030-01-01T12:59:59.999Z',
          '2030-01-01T13:00:00.000Z',
          undefined,
        ];
        for (const iso of sinces) {
          const since = iso === undefined ? undefined : new Date(iso);
          const match = inserted.filter((x) => iso === undefined || x.at >= iso);
          const anomalies = match.filter((x) => x.row.is_fraudulent);
          const newestFirst = (xs: typeof match) => xs.map((x) => x.id).sort((a, b) => b - a); // ids follow time here
          const list = await store.listTransactions({ limit: 100, since });
          expect({ iso, ids: list.rows.map((r) => r.id), total: list.total }).toEqual({
            iso,
            ids: newestFirst(match),
            total: match.length,
          });
          const flagged = await store.listTransactions({ limit: 100, since, anomaliesOnly: true });
          expect({ iso, ids: flagged.rows.map((r) => r.id), total: flagged.total }).toEqual({
            iso,
            ids: newestFirst(anomalies),
            total: anomalies.length,
          });
          expect((await store.listTransactions({ limit: 1, offset: 1, since })).total).toBe(match.length);

          const d = await store.dashboard(since ?? new Date(0));
          const sum = match.reduce((a, x) => a + x.row.anomaly_score, 0);
          expect({
            iso,
            total: d.total_transactions,
            anomalies: d.anomalies_detected,
            avg: d.avg_anomaly_score,
          }).toEqual({
            iso,
            total: match.length,
            anomalies: anomalies.length,
            avg: match.length ? Math.round((sum / match.length) * 1e6) / 1e6 : 0,
          });
          for (const h of d.hourly_distribution) {
            const inHour = match.filter((x) => x.row.hour === h.hour);
            expect({ iso, ...h }).toEqual({
              iso,
              hour: h.hour,
              total_transactions: inHour.length,
              anomalies: inHour.filter((x) => x.row.is_fraudulent).length,
            });
          }
        }
      });
    });

    describe('models', () => {
      const model = (version: string) => ({
        version,
        format: 'secureflow-isolation-forest@1',
        options: { trees: 100, seed: 7, contamination: 0.05 },
        trained_at: '2024-05-01T12:00:00.000Z',
        rows: 1100,
        metrics: { roc_auc: 0.99 },
        model: `{"id":"${version}",\n  "trees": []}\n`,
      });

      it('registers, activates one at a time, and finds by version or id', async () => {
        expect(await store.activeModel()).toBeNull();
        const a = await store.registerModel(model('aaa'), false);
        expect(a).toStrictEqual({
          id: 1,
          version: 'aaa',
          format: 'secureflow-isolation-forest@1',
          options: { trees: 100, seed: 7, contamination: 0.05 },
          trained_at: '2024-05-01T12:00:00.000Z',
          rows: 1100,
          metrics: { roc_auc: 0.99 },
          active: false,
        });
        expect(await store.activeModel()).toBeNull();
        const b = await store.registerModel({ ...model('bbb'), metrics: null }, true);
        expect(b).toMatchObject({ id: 2, version: 'bbb', metrics: null, active: true });
        expect(await store.activeModel()).toStrictEqual({ ...b, model: model('bbb').model });
        expect(await store.activateModel('aaa')).toStrictEqual({ ...a, active: true });
        expect((await store.listModels()).map((m) => [m.id, m.active])).toEqual([
          [1, true],
          [2, false],
        ]);
        expect(await store.activateModel('2')).toMatchObject({ version: 'bbb', active: true });
        expect((await store.listModels()).map((m) => m.active)).toEqual([false, true]);
        expect(await store.getModel('aaa')).toStrictEqual({ ...a, model: model('aaa').model });
        expect(await store.getModel('1')).toStrictEqual({ ...a, model: model('aaa').model });
        for (const unknown of ['ccc', '3', '0', '-1', '', '1.0']) {
          expect(await store.getModel(unknown)).toBeNull();
          expect(await store.activateModel(unknown)).toBeNull();
        }
        expect((await store.activeModel())!.version).toBe('bbb');
      });

      it('deactivates: no model active, the one that was returned, then null', async () => {
        await store.registerModel(model('aaa'), true);
        expect(await store.deactivateModels()).toMatchObject({ version: 'aaa', active: false });
        expect(await store.activeModel()).toBeNull();
        expect((await store.listModels()).map((m) => m.active)).toEqual([false]);
        expect(await store.deactivateModels()).toBeNull();
        expect(await store.activateModel('aaa')).toMatchObject({ version: 'aaa', active: true });
      });

      it('returns the existing row when a version is registered again, activating it if asked', async () => {
        const a = await store.registerModel(model('aaa'), false);
        await store.registerModel(model('bbb'), true);
        expect(await store.registerModel({ ...model('aaa'), rows: 5 }, false)).toStrictEqual(a);
        expect(await store.registerModel(model('aaa'), true)).toStrictEqual({ ...a, active: true });
        expect((await store.listModels()).map((m) => [m.version, m.active])).toEqual([
          ['aaa', true],
          ['bbb', false],
        ]);
      });

      it('normalises trained_at to an ISO UTC string', async () => {
        const m = await store.registerModel({ ...model('x'), trained_at: '2024-05-01T14:00:00+02:00' }, false);
        expect(m.trained_at).toBe('2024-05-01T12:00:00.000Z');
      });
    });

    describe('api keys', () => {
      it('creates, lists without hashes, revokes once, touches and counts', async () => {
        const ci = await store.createKey('ci', 'scorer', 'scrypt$salt$hash1');
        expect(ci).toStrictEqual({
          id: 1,
          name: 'ci',
          role: 'scorer',
          created_at: expect.stringMatching(ISO),
          last_used_at: null,
          revoked_at: null,
        });
        const ops = await store.createKey('ops', 'viewer', 'scrypt$salt$hash2');
        expect(ops.id).toBe(2);
        expect(await store.listKeys()).toStrictEqual([ci, ops]);
        expect(await store.getKey(2)).toStrictEqual({ ...ops, key_hash: 'scrypt$salt$hash2' });
        expect(await store.getKey(3)).toBeNull();
        expect(await store.countActiveKeys()).toBe(2);

        const revoked = await store.revokeKey(1);
        expect(revoked).toStrictEqual({ ...ci, revoked_at: expect.stringMatching(ISO) });
        await sleep(15);
        expect(await store.revokeKey(1)).toStrictEqual(revoked); // the first revocation time stays
        expect(await store.revokeKey(99)).toBeNull();
        expect(await store.countActiveKeys()).toBe(1);

        await store.touchKey(2);
        await store.touchKey(99); // unknown: nothing to do
        const touched = await store.getKey(2);
        expect(touched!.last_used_at).toMatch(ISO);
        expect((await store.listKeys())[1]).toStrictEqual({ ...ops, last_used_at: touched!.last_used_at });
      });

      it('counts keys ever created, revoked ones included, and replaces a hash only if it is still the old one', async () => {
        expect(await store.countKeysEver()).toBe(0);
        const k = await store.createKey('legacy', 'scorer', 'scrypt$old');
        await store.revokeKey(k.id);
        expect(await store.countActiveKeys()).toBe(0);
        expect(await store.countKeysEver()).toBe(1);
        await store.rehashKey(k.id, 'scrypt$other', 'sha256$lost'); // someone changed it meanwhile: kept
        expect((await store.getKey(k.id))!.key_hash).toBe('scrypt$old');
        await store.rehashKey(k.id, 'scrypt$old', 'sha256$new');
        expect((await store.getKey(k.id))!.key_hash).toBe('sha256$new');
        await store.rehashKey(0, 'x', 'y'); // impossible id: nothing to do
      });

      it('refuses an unknown role', async () => {
        await expect(store.createKey('x', 'root' as 'admin', 'h')).rejects.toMatchObject({ kind: 'invalid' });
      });
    });

    describe('users', () => {
      it('adds, lists without hashes, finds by name and id, refuses a taken name', async () => {
        expect(await store.countUsers()).toBe(0);
        const bob = await store.createUser('bob', 'viewer', 'scrypt$1$2$3$s$h1');
        const alice = await store.createUser('alice', 'analyst', 'scrypt$1$2$3$s$h2');
        expect(alice).toStrictEqual({
          id: 2,
          username: 'alice',
          role: 'analyst',
          created_at: expect.stringMatching(ISO),
          updated_at: alice.created_at,
          disabled_at: null,
        });
        expect(await store.listUsers()).toStrictEqual([alice, bob]); // by name
        expect(await store.getUser('alice')).toStrictEqual({
          ...alice,
          password_hash: 'scrypt$1$2$3$s$h2',
          token_generation: 0,
        });
        expect(await store.getUserById(bob.id)).toMatchObject({ username: 'bob', token_generation: 0 });
        expect(await store.getUser('nobody')).toBeNull();
        expect(await store.getUser('nul\u0000')).toBeNull();
        expect(await store.getUserById(0)).toBeNull();
        await expect(store.createUser('alice', 'admin', 'h')).rejects.toMatchObject({
          kind: 'invalid',
          details: { field: 'username' },
        });
        await expect(store.createUser('eve', 'root' as 'admin', 'h')).rejects.toMatchObject({ kind: 'invalid' });
        expect(await store.countUsers()).toBe(2);
        expect(await store.countActiveUsers()).toBe(2);
      });

      it('disabling and a new password move the token generation on; disabling keeps its first time', async () => {
        await store.createUser('alice', 'analyst', 'old');
        await sleep(5);
        const changed = await store.setUserPassword('alice', 'new');
        expect(changed).toMatchObject({ username: 'alice', disabled_at: null });
        expect(Date.parse(changed!.updated_at)).toBeGreaterThan(Date.parse(changed!.created_at));
        expect(await store.getUser('alice')).toMatchObject({ password_hash: 'new', token_generation: 1 });
        const disabled = await store.disableUser('alice');
        expect(disabled!.disabled_at).toMatch(ISO);
        await sleep(5);
        expect((await store.disableUser('alice'))!.disabled_at).toBe(disabled!.disabled_at);
        expect(await store.getUser('alice')).toMatchObject({ token_generation: 3 });
        expect(await store.countUsers()).toBe(1);
        expect(await store.countActiveUsers()).toBe(0);
        expect(await store.disableUser('nobody')).toBeNull();
        expect(await store.setUserPassword('nobody', 'x')).toBeNull();
      });

      it('keeps a generated secret: the first value stored wins, also under concurrent callers', async () => {
        const values = await Promise.all(['a', 'b', 'c', 'd'].map((v) => store.keepSecret('jwt_secret', v)));
        expect(new Set(values).size).toBe(1);
        expect(['a', 'b', 'c', 'd']).toContain(values[0]);
        expect(await store.keepSecret('jwt_secret', 'later')).toBe(values[0]);
        expect(await store.keepSecret('other', 'x')).toBe('x');
        // Callers racing on a new name: one that waits on another's insert must still read the winner back.
        for (let round = 0; round < 20; round++) {
          const name = `race_${round}`;
          const raced = await Promise.all(Array.from({ length: 8 }, (_, i) => store.keepSecret(name, `v${i}`)));
          expect(new Set(raced).size).toBe(1);
        }
      });
    });

    describe('keyset paging', () => {
      it('pages with before = the last row of the previous page, as offsets do, whatever is stored meanwhile', async () => {
        for (let i = 0; i < 4; i++) {
          await store.insertTransactions(Array.from({ length: 5 }, (_, j) => newTransaction({ amount: i * 10 + j })));
          await sleep(3);
        }
        const all = (await store.listTransactions({ limit: 100 })).rows;
        expect(all).toHaveLength(20);
        const seen: number[] = [];
        let before: { created_at: string; id: number } | undefined;
        for (;;) {
          const { rows, total } = await store.listTransactions({ limit: 3, before });
          expect(total).toBe(all.length + (seen.length > 0 ? 1 : 0)); // total ignores `before`
          if (seen.length === 0) await store.insertTransactions([newTransaction()]); // newer: not in later pages
          seen.push(...rows.map((r) => r.id));
          if (rows.length < 3) break;
          before = { created_at: rows[2].created_at, id: rows[2].id };
        }
        expect(seen).toEqual(all.map((r) => r.id));
      });
    });

    describe('feedback of many transactions', () => {
      it('returns the current verdicts of the given ids, by transaction id, and none for the others', async () => {
        const ids = await store.insertTransactions([newTransaction(), newTransaction(), newTransaction()]);
        expect(await store.feedbackOf([])).toEqual([]);
        await store.upsertFeedback(ids[2], true, 'first');
        await store.upsertFeedback(ids[2], false, 'second');
        await store.upsertFeedback(ids[0], true, null);
        const got = await store.feedbackOf([ids[2], ids[1], ids[0], 999, 0, -1]);
        expect(got.map((f) => [f.transaction_id, f.is_correct, f.notes])).toEqual([
          [ids[0], true, null],
          [ids[2], false, 'second'],
        ]);
        expect(got[1]).toStrictEqual((await store.getTransaction(ids[2]))!.feedback);
        await expect(store.feedbackOf(Array.from({ length: 1001 }, (_, i) => i + 1))).rejects.toMatchObject({
          kind: 'invalid',
        });
      });
    });

    describe('decisions (migration 010)', () => {
      it('stores each row decision and matched rules and reads them back, through every reader', async () => {
        const rows = [
          newTransaction({ decision: 'block', matched_rules: [{ name: 'night-big', action: 'block' }] }),
          newTransaction({
            is_fraudulent: true,
            decision: 'allow',
            matched_rules: [
              { name: 'night-big', action: 'block' },
              { name: 'vip.list_2', action: 'allow' },
            ],
          }),
          newTransaction({ is_fraudulent: true, decision: 'review' }),
          newTransaction({ decision: 'review', matched_rules: [{ name: 'z', action: 'review' }] }),
        ];
        const ids = await store.insertTransactions(rows);
        for (const [i, id] of ids.entries()) {
          const got = await store.getTransaction(id);
          expect({ decision: got!.decision, matched_rules: got!.matched_rules }).toEqual({
            decision: rows[i].decision,
            matched_rules: rows[i].matched_rules,
          });
        }
        const listed = (await store.listTransactions({ limit: 10 })).rows.reverse();
        expect(listed.map((r) => [r.decision, r.matched_rules])).toEqual(
          rows.map((r) => [r.decision, r.matched_rules]),
        );
        const flagged = (await store.recentFlagged(new Date(Date.now() - 60_000), 10)).reverse();
        expect(flagged.map((r) => r.decision)).toEqual(['allow', 'review']);
      });

      it('stores a bulk insert (Postgres: COPY) with its decisions intact', async () => {
        const rows = Array.from({ length: 2500 }, (_, i) =>
          newTransaction({
            batch_id: 'bulk',
            decision: (['allow', 'review', 'block'] as const)[i % 3],
            matched_rules:
              i % 2 ? [] : [{ name: `r-${i % 7}`, action: (['allow', 'review', 'block'] as const)[i % 3] }],
          }),
        );
        const ids = await store.insertTransactions(rows);
        const { rows: stored } = await store.listTransactions({ batchId: 'bulk', limit: 3000 });
        const byId = new Map(stored.map((r) => [r.id, r]));
        ids.forEach((id, i) => {
          expect([byId.get(id)!.decision, byId.get(id)!.matched_rules]).toEqual([
            rows[i].decision,
            rows[i].matched_rules,
          ]);
        });
      });

      it('refuses an unknown decision or a matched rule it could not read back, storing nothing', async () => {
        const bad: Partial<NewTransaction>[] = [
          { decision: 'deny' as never },
          { decision: undefined as never },
          { matched_rules: null as never },
          { matched_rules: [{ name: 'a;b', action: 'block' }] },
          { matched_rules: [{ name: 'ok', action: 'maybe' as never }] },
        ];
        for (const over of bad) {
          const error = await store.insertTransactions([newTransaction(), newTransaction(over)]).catch((e) => e);
          expect(error, JSON.stringify(over)).toBeInstanceOf(StoreError);
          expect((error as StoreError).kind).toBe('invalid');
        }
        expect((await store.listTransactions({ limit: 10 })).total).toBe(0);
      });
    });

    describe('decision summary (the dashboard)', () => {
      it('is all zeros with no rules when there is nothing', async () => {
        expect(await store.decisionSummary(new Date(0), 5)).toEqual({
          decisions: { allow: 0, review: 0, block: 0 },
          top_rules: [],
        });
      });

      it('agrees with counting the rows one by one, whatever `since` is, and ranks the rules that matched', async () => {
        const R = (name: string, action: 'allow' | 'review' | 'block') => ({ name, action });
        vi.useFakeTimers({ toFake: ['Date'] });
        try {
          const at = async (iso: string, rows: NewTransaction[]) => {
            vi.setSystemTime(new Date(iso));
            await store.insertTransactions(rows);
          };
          await at('2030-01-01T12:00:30.000Z', [
            newTransaction({ is_fraudulent: true, decision: 'review' }),
            newTransaction({ decision: 'block', matched_rules: [R('big', 'block')] }),
          ]);
          await at('2030-01-01T12:00:50.000Z', [
            newTransaction({
              is_fraudulent: true,
              decision: 'allow',
              matched_rules: [R('vip', 'allow'), R('big', 'block')],
            }),
            newTransaction({ decision: 'allow' }),
          ]);
          await at('2030-01-01T12:01:00.000Z', [
            newTransaction({ decision: 'review', matched_rules: [R('night', 'review')] }),
            newTransaction({ is_fraudulent: true, decision: 'block', matched_rules: [R('big', 'block')] }),
          ]);
          await at('2030-01-01T12:03:20.000Z', [
            newTransaction({ is_fraudulent: true, decision: 'review', matched_rules: [R('night', 'review')] }),
            newTransaction({ decision: 'allow' }),
            newTransaction({ decision: 'allow' }),
          ]);
        } finally {
          vi.useRealTimers();
        }
        const { rows } = await store.listTransactions({ limit: 100 });
        for (const since of [
          '2030-01-01T11:00:00.000Z',
          '2030-01-01T12:00:30.000Z',
          '2030-01-01T12:00:40.000Z',
          '2030-01-01T12:01:00.000Z',
          '2030-01-01T12:02:00.000Z',
          '2030-01-01T12:04:00.000Z',
        ]) {
          const inWindow = rows.filter((r) => r.created_at >= since);
          const decisions = { allow: 0, review: 0, block: 0 };
          const matches = new Map<string, number>();
          for (const r of inWindow) {
            decisions[r.decision]++;
            for (const m of r.matched_rules)
              matches.set(`${m.name} ${m.action}`, (matches.get(`${m.name} ${m.action}`) ?? 0) + 1);
          }
          const got = await store.decisionSummary(new Date(since), 10);
          expect(got.decisions, since).toEqual(decisions);
          expect(new Map(got.top_rules.map((t) => [`${t.name} ${t.action}`, t.matches])), since).toEqual(matches);
        }
        expect(await store.decisionSummary(new Date('2030-01-01T11:00:00.000Z'), 10)).toEqual({
          decisions: { allow: 4, review: 3, block: 2 },
          top_rules: [
            { name: 'big', action: 'block', matches: 3 },
            { name: 'night', action: 'review', matches: 2 },
            { name: 'vip', action: 'allow', matches: 1 },
          ],
        });
        // The top N only; ties go by name.
        expect((await store.decisionSummary(new Date('2030-01-01T12:00:40.000Z'), 2)).top_rules).toEqual([
          { name: 'big', action: 'block', matches: 2 },
          { name: 'night', action: 'review', matches: 2 },
        ]);
        expect((await store.decisionSummary(new Date('2030-01-01T11:00:00.000Z'), 0)).top_rules).toEqual([]);
      });
    });

    describe('rules version', () => {
      it('changes with every change to the rules, and only then', async () => {
        const v0 = await store.rulesVersion();
        expect(await store.rulesVersion()).toBe(v0);
        await store.addRule({ name: 'r1', expression: 'amount > 1', action: 'block', description: null }, 'me');
        const v1 = await store.rulesVersion();
        expect(v1).not.toBe(v0);
        await store.insertTransactions([newTransaction()]);
        expect(await store.rulesVersion()).toBe(v1);
        await store.setRuleEnabled('r1', false, 'me');
        const v2 = await store.rulesVersion();
        expect(v2).not.toBe(v1);
        await store.setRuleEnabled('r1', false, 'me'); // already disabled: nothing changed
        expect(await store.rulesVersion()).toBe(v2);
        await store.removeRule('r1', 'me');
        expect(await store.rulesVersion()).not.toBe(v2);
      });
    });

    describe('risk rules', () => {
      const night = {
        name: 'night-cash',
        expression: 'amount > 3000 && hour < 5',
        action: 'block' as const,
        description: 'big at night',
      };

      it('adds, lists by name, gets, disables, enables and removes, each change in the history with who and when', async () => {
        expect(await store.listRules()).toEqual([]);
        const added = await store.addRule(night, 'alice');
        expect(added).toStrictEqual({
          id: expect.any(Number),
          ...night,
          enabled: true,
          created_by: 'alice',
          created_at: expect.stringMatching(ISO),
          updated_at: added.created_at,
        });
        const vip = await store.addRule(
          { name: 'Vip', expression: 'amount < 10', action: 'allow', description: null },
          'bob',
        );
        expect((await store.listRules()).map((r) => r.name)).toEqual(['Vip', 'night-cash']); // byte order
        expect(await store.getRule('night-cash')).toStrictEqual(added);
        expect(await store.getRule('nope')).toBeNull();
        expect(await store.getRule('vip')).toBeNull(); // names are case-sensitive

        await sleep(5);
        const disabled = await store.setRuleEnabled('night-cash', false, 'carol');
        expect(disabled).toStrictEqual({ ...added, enabled: false, updated_at: expect.stringMatching(ISO) });
        expect(disabled!.updated_at > added.updated_at).toBe(true);
        // Already disabled: unchanged, and no history row.
        expect(await store.setRuleEnabled('night-cash', false, 'carol')).toStrictEqual(disabled);
        expect(await store.setRuleEnabled('nope', true, 'carol')).toBeNull();
        const enabled = await store.setRuleEnabled('night-cash', true, 'dave');
        expect(enabled!.enabled).toBe(true);

        const removed = await store.removeRule('night-cash', 'erin');
        expect(removed).toStrictEqual(enabled);
        expect(await store.removeRule('night-cash', 'erin')).toBeNull();
        expect(await store.getRule('night-cash')).toBeNull();
        expect(await store.listRules()).toStrictEqual([vip]);

        const history = await store.ruleHistory('night-cash');
        expect(history.map((h) => [h.change, h.changed_by, h.enabled])).toEqual([
          ['added', 'alice', true],
          ['disabled', 'carol', false],
          ['enabled', 'dave', true],
          ['removed', 'erin', true],
        ]);
        for (const h of history) {
          expect(h).toStrictEqual({
            id: expect.any(Number),
            rule_name: 'night-cash',
            change: h.change,
            expression: night.expression,
            action: 'block',
            description: 'big at night',
            enabled: h.enabled,
            changed_by: h.changed_by,
            changed_at: expect.stringMatching(ISO),
          });
        }
        expect(history.map((h) => h.changed_at)).toEqual(history.map((h) => h.changed_at).sort());
        expect((await store.ruleHistory()).map((h) => [h.rule_name, h.change])).toEqual([
          ['night-cash', 'added'],
          ['Vip', 'added'],
          ['night-cash', 'disabled'],
          ['night-cash', 'enabled'],
          ['night-cash', 'removed'],
        ]);

        // A removed name can be used again; its history goes on.
        await store.addRule({ ...night, action: 'review' }, 'frank');
        expect((await store.ruleHistory('night-cash')).map((h) => [h.change, h.action])).toEqual([
          ['added', 'block'],
          ['disabled', 'block'],
          ['enabled', 'block'],
          ['removed', 'block'],
          ['added', 'review'],
        ]);
      });

      it('refuses a taken name, an unknown action and unstorable text, storing nothing', async () => {
        await store.addRule(night, 'alice');
        await expect(store.addRule({ ...night, action: 'allow' }, 'bob')).rejects.toMatchObject({
          kind: 'conflict',
          field: 'name',
          message: 'a rule named night-cash already exists',
        });
        await expect(store.addRule({ ...night, name: 'x', action: 'deny' as 'allow' }, 'bob')).rejects.toMatchObject({
          kind: 'invalid',
          field: 'action',
        });
        await expect(store.addRule({ ...night, name: 'y', description: 'a\u0000b' }, 'bob')).rejects.toBeInstanceOf(
          StoreError,
        );
        await expect(store.addRule({ ...night, name: 'z', expression: '' }, 'bob')).rejects.toMatchObject({
          field: 'expression',
        });
        expect((await store.listRules()).map((r) => r.name)).toEqual(['night-cash']);
        expect((await store.ruleHistory()).length).toBe(1);
        expect(await store.getRule('a\u0000b')).toBeNull();
      });

      it('updates expression, action, description and enabled in one call, a history row for each kind of change', async () => {
        const added = await store.addRule(night, 'alice');
        await sleep(5);
        const changed = await store.updateRule(
          'night-cash',
          { expression: 'amount > 5000', action: 'review', description: null },
          'bob',
        );
        expect(changed).toStrictEqual({
          ...added,
          expression: 'amount > 5000',
          action: 'review',
          description: null,
          updated_at: expect.stringMatching(ISO),
        });
        expect(changed!.updated_at > added.updated_at).toBe(true);
        expect(await store.getRule('night-cash')).toStrictEqual(changed);
        // The same values again, or nothing at all: unchanged, no history.
        expect(await store.updateRule('night-cash', { action: 'review', description: null }, 'bob')).toStrictEqual(
          changed,
        );
        expect(await store.updateRule('night-cash', {}, 'bob')).toStrictEqual(changed);
        // Content and state at once: `changed`, then `disabled`, in one transaction.
        const both = await store.updateRule(
          'night-cash',
          { description: 'raised', enabled: false, expression: 'amount > 6000' },
          'carol',
        );
        expect(both).toMatchObject({ description: 'raised', enabled: false, expression: 'amount > 6000' });
        expect(await store.updateRule('night-cash', { enabled: true }, 'dave')).toMatchObject({ enabled: true });
        expect(await store.updateRule('nope', { action: 'block' }, 'dave')).toBeNull();

        const history = await store.ruleHistory('night-cash');
        expect(history.map((h) => [h.change, h.changed_by, h.expression, h.action, h.description, h.enabled])).toEqual([
          ['added', 'alice', night.expression, 'block', 'big at night', true],
          ['changed', 'bob', 'amount > 5000', 'review', null, true],
          ['changed', 'carol', 'amount > 6000', 'review', 'raised', true],
          ['disabled', 'carol', 'amount > 6000', 'review', 'raised', false],
          ['enabled', 'dave', 'amount > 6000', 'review', 'raised', true],
        ]);
        expect(history[2].changed_at).toBe(history[3].changed_at);
      });

      it('refuses an update with an unknown action, an empty expression or unstorable text, changing nothing', async () => {
        const added = await store.addRule(night, 'alice');
        await expect(
          store.updateRule('night-cash', { action: 'deny' as 'allow', enabled: false }, 'bob'),
        ).rejects.toMatchObject({ kind: 'invalid', field: 'action' });
        await expect(store.updateRule('night-cash', { expression: '' }, 'bob')).rejects.toMatchObject({
          kind: 'invalid',
          field: 'expression',
        });
        await expect(store.updateRule('night-cash', { description: 'a\u0000b' }, 'bob')).rejects.toMatchObject({
          kind: 'invalid',
          field: 'description',
        });
        await expect(store.updateRule('night-cash', { action: 'allow' }, 'x\u0000')).rejects.toBeInstanceOf(StoreError);
        expect(await store.getRule('night-cash')).toStrictEqual(added);
        expect((await store.ruleHistory('night-cash')).length).toBe(1);
        expect(await store.updateRule('a\u0000b', { action: 'allow' }, 'bob')).toBeNull();
      });

      it('writes each change and its history row together: of concurrent disables exactly one is recorded', async () => {
        await store.addRule(night, 'alice');
        const results = await Promise.all(
          Array.from({ length: 5 }, (_, i) => store.setRuleEnabled('night-cash', false, `user${i}`)),
        );
        expect(results.every((r) => r?.enabled === false)).toBe(true);
        expect((await store.ruleHistory('night-cash')).map((h) => h.change)).toEqual(['added', 'disabled']);
        // Concurrent updates too: each sees the rule as the one before it left it, so one change is one row.
        const updates = await Promise.all(
          Array.from({ length: 5 }, (_, i) =>
            store.updateRule('night-cash', { enabled: true, action: 'review' }, `user${i}`),
          ),
        );
        expect(updates.every((r) => r?.enabled === true && r.action === 'review')).toBe(true);
        expect((await store.ruleHistory('night-cash')).map((h) => h.change)).toEqual([
          'added',
          'disabled',
          'changed',
          'enabled',
        ]);
        const adds = await Promise.allSettled(
          Array.from({ length: 4 }, () => store.addRule({ ...night, name: 'race' }, 'x')),
        );
        expect(adds.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
        expect((await store.ruleHistory('race')).length).toBe(1);
      });
    });
  });
}
