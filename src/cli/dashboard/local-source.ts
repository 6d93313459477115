import { existsSync } from 'node:fs';
import { alertRateView, dashboardData, transactionDetail, type AlertRateView } from '../../core/dashboard-data.js';
import { SecureflowError } from '../../core/errors.js';
import { StoredDriftCache } from '../../core/drift-cache.js';
import { readModelText, resolveScoringModel } from '../../core/model-source.js';
import type { IsolationForestModel } from '../../model/model.js';
import { openStore, resolveDatabase } from '../../db/open-store.js';
import type { Store } from '../../db/store.js';
import type { DashboardSnapshot, DashboardSource, TransactionDetail } from './snapshot.js';
import { osUser } from '../os-user.js';

/**
 * The dashboard over the local database (--db, SECUREFLOW_DB, DATABASE_URL or the default file). The store
 * is opened on first use and reopened after a failure, so a database that comes back is picked up again.
 */
export function localSource(flag: string | undefined, flagged = 20): DashboardSource {
  const resolved = resolveDatabase(flag);
  let store: Store | null = null;
  let bundledVersion: string | undefined;
  const open = async (): Promise<Store> => {
    if (!store) {
      // Read-only: a database that does not exist is named, not created empty.
      if (resolved.kind === 'sqlite' && !existsSync(resolved.target)) {
        throw new SecureflowError(
          'not_found',
          `no database at ${resolved.display}: nothing has been stored there (check --db, SECUREFLOW_DB or DATABASE_URL)`,
        );
      }
      try {
        store = await openStore(resolved);
      } catch (e) {
        throw new SecureflowError('unavailable', (e as Error).message.replaceAll(resolved.target, resolved.display));
      }
    }
    return store;
  };
  // Drop a store whose database went away, so the next refresh reconnects.
  const use = async <T>(fn: (s: Store) => Promise<T>): Promise<T> => {
    const s = await open();
    try {
      return await fn(s);
    } catch (e) {
      if (e instanceof SecureflowError && e.kind === 'unavailable') {
        store = null;
        await s.close().catch(() => {});
      }
      throw e;
    }
  };
  const driftCache = new StoredDriftCache();
  // The scoring model (for drift) and its alert rate, read again only when the active version changes (the
  // document is ~200 KB).
  let loaded: { model: IsolationForestModel; alertRate: AlertRateView } | null = null;
  const scoringModel = async (s: Store, version: string, active: boolean) => {
    if (loaded?.model.version !== version) {
      const { model } = await resolveScoringModel(undefined, undefined, active ? s : null);
      loaded = { model, alertRate: alertRateView(model) };
    }
    return loaded;
  };
  return {
    description: `${resolved.kind} ${resolved.display}`,
    async snapshot(days: number): Promise<DashboardSnapshot> {
      return use(async (s) => {
        // The model list's metadata names the active version: the model document itself (~200 KB) is not read
        // on every refresh.
        const active = (await s.listModels()).find((m) => m.active);
        bundledVersion ??= readModelText().doc.id;
        const modelVersion = active?.version ?? bundledVersion;
        const { model, alertRate } = await scoringModel(s, modelVersion, active !== undefined);
        const data = await dashboardData(s, { days, buckets: 48, flagged, modelVersion, alertRate });
        // Drift over the window against the model that scores (the daemon's panel computes the same).
        const figures = await driftCache.latest((fn) => fn(s), model, days);
        return {
          source: `${resolved.kind} ${resolved.display}`,
          ...data,
          ...(figures === undefined ? {} : { drift: figures }),
        };
      });
    },
    async transaction(id: number): Promise<TransactionDetail> {
      const detail = await use((s) => transactionDetail(s, id));
      if (!detail) throw new SecureflowError('not_found', `transaction ${id} not found`);
      return detail;
    },
    async feedback(id: number, isCorrect: boolean): Promise<string | null> {
      // The same store call as `secureflow feedback ID --correct|--incorrect`.
      const saved = await use((s) => s.upsertFeedback(id, isCorrect, null, osUser()));
      if (!saved) throw new SecureflowError('not_found', `transaction ${id} not found`);
      return saved.recorded_by;
    },
    async close(): Promise<void> {
      const s = store;
      store = null;
      await s?.close();
    },
  };
}
