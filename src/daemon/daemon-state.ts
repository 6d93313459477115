import { resolveScoringModel } from '../core/model-source.js';
import { openStore, StoreError, type OpenOptions, type ResolvedDatabase } from '../db/open-store.js';
import type { Store } from '../db/store.js';
import type { IsolationForestModel } from '../model/model.js';
import { compileRules, type CompiledRule } from '../core/rules/apply-rules.js';
import { enabledRules } from '../core/rules/stored-rules.js';

export type DatabaseStatus = 'connected' | 'unavailable';

export interface DatabaseEvents {
  onStatus?(status: DatabaseStatus, reason: string | null): void;
  /** The rules scoring applies were (re)loaded: how many are enabled; or why a reload failed (the old ones stay). */
  onRules?(enabled: number, error: string | null): void;
}

// The daemon fails fast on a silent network rather than holding requests for pg's default timeouts, and never
// lets SQLite wait for a lock synchronously (that would stall every request, health included).
const DAEMON_OPEN: OpenOptions = { connectTimeoutMs: 3000, queryTimeoutMs: 10_000, sqliteLockWaitMs: 5000 };

/**
 * What the daemon serves from: its database connection (the store while connected, the status health reports)
 * and the model it scores with (a file, the database's active model, or the bundled one). Postgres may be down when the daemon starts or at any time after: the
 * daemon keeps serving (health says degraded, writes answer 503), retries in the background, and picks up
 * where it left off when the database returns; the pool reconnects by itself once open. The database's enabled
 * rules are loaded with it and reloaded when they change (checked every `rulesCheckMs`).
 */
export class DaemonState {
  private store: Store | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private rulesTimer: NodeJS.Timeout | null = null;
  /** The rules' version (Store.rulesVersion) that `rules` were loaded at; -1 before the first load. */
  private rulesVersion = -1;
  /** The database's enabled rules, compiled: every scoring path applies these (none until the database answers). */
  rules: readonly CompiledRule[] = [];
  private closed = false;
  private reported = false;
  status: DatabaseStatus = 'unavailable';
  lastError: string | null = null;

  private constructor(
    readonly resolved: ResolvedDatabase,
    public model: IsolationForestModel,
    private readonly modelPath: string | undefined,
    private readonly threshold: number | undefined,
    private readonly events: DatabaseEvents,
    private readonly openOptions: OpenOptions,
    private readonly rulesCheckMs: number,
  ) {}

  /**
   * Opens the database and resolves the model (a file, else the database's active model, else the bundled
   * one). SQLite must open now (a bad path will not fix itself); Postgres may come later.
   */
  static async open(
    resolved: ResolvedDatabase,
    opts: {
      model?: string;
      threshold?: number;
      retryMs?: number;
      openOptions?: OpenOptions;
      /** How often to check whether the rules changed (one cheap query), in ms; default 1000. */
      rulesCheckMs?: number;
    } & DatabaseEvents,
  ): Promise<DaemonState> {
    const fallback = await resolveScoringModel(opts.model, opts.threshold, null);
    const db = new DaemonState(
      resolved,
      fallback.model,
      opts.model,
      opts.threshold,
      opts,
      { ...DAEMON_OPEN, ...opts.openOptions },
      opts.rulesCheckMs ?? 1000,
    );
    const ok = await db.connect();
    if (!ok) {
      if (resolved.kind === 'sqlite')
        throw new StoreError('unavailable', db.lastError ?? `cannot open ${resolved.display}`);
      db.scheduleRetry(opts.retryMs ?? 2000);
    }
    return db;
  }

  private async connect(): Promise<boolean> {
    try {
      const store = await openStore(this.resolved, this.openOptions);
      if (this.closed) {
        await store.close();
        return false;
      }
      this.store = store;
      // A model file wins; else the database's active model replaces the bundled one loaded at start.
      if (this.modelPath === undefined) {
        const active = await store.activeModel(); // the whole model document: read it once
        if (active)
          this.model = (
            await resolveScoringModel(undefined, this.threshold, { activeModel: async () => active })
          ).model;
      }
      await this.reloadRules();
      this.setStatus('connected', null);
      this.watchRules();
      return true;
    } catch (e) {
      this.setStatus('unavailable', (e as Error).message);
      return false;
    }
  }

  /**
   * Reloads the rules when they changed since the last load (one cheap version query when they did not). Called
   * on a timer, and by whatever changes rules through this daemon, so that its next request already applies them.
   * A failure keeps the rules loaded before (an outage, or a stored rule that no longer compiles: reported once).
   */
  async reloadRules(): Promise<void> {
    const store = this.store;
    if (!store) return;
    const version = await store.rulesVersion();
    if (version === this.rulesVersion) return;
    const definitions = await enabledRules(store);
    let compiled: CompiledRule[];
    try {
      compiled = compileRules(definitions);
    } catch (e) {
      this.rulesVersion = version; // not retried until the rules change again
      this.events.onRules?.(this.rules.length, (e as Error).message);
      return;
    }
    this.rules = compiled;
    this.rulesVersion = version;
    this.events.onRules?.(compiled.length, null);
  }

  private watchRules(): void {
    if (this.rulesTimer || this.closed) return;
    const tick = () => {
      this.rulesTimer = setTimeout(async () => {
        try {
          await this.run(() => this.reloadRules());
        } catch {
          // an outage: the status says so; the rules loaded before stay
        }
        if (!this.closed) tick();
      }, this.rulesCheckMs);
      this.rulesTimer.unref();
    };
    tick();
  }

  private scheduleRetry(ms: number): void {
    if (this.closed) return;
    this.retryTimer = setTimeout(async () => {
      if (!(await this.connect())) this.scheduleRetry(ms);
    }, ms);
    this.retryTimer.unref();
  }

  private setStatus(status: DatabaseStatus, reason: string | null): void {
    // The first status is always reported: a database unreachable at start must say why in the log.
    const changed = status !== this.status || !this.reported;
    this.reported = true;
    this.status = status;
    this.lastError = reason;
    if (changed) this.events.onStatus?.(status, reason);
  }

  /** The open store; throws StoreError('unavailable') while there is none. */
  require(): Store {
    if (!this.store) throw new StoreError('unavailable', 'the database is not connected');
    return this.store;
  }

  /** Runs a database call, keeping the status current: an outage marks it unavailable, success connected. */
  async run<T>(fn: (store: Store) => Promise<T>): Promise<T> {
    const store = this.require();
    try {
      const result = await fn(store);
      if (this.status !== 'connected') this.setStatus('connected', null);
      return result;
    } catch (e) {
      if (e instanceof StoreError && e.kind === 'unavailable') this.setStatus('unavailable', e.message);
      throw e;
    }
  }

  /** A round trip within `timeoutMs`; updates the status. */
  async check(timeoutMs = 1000): Promise<DatabaseStatus> {
    if (!this.store) return this.status;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StoreError('unavailable', `no answer from the database in ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([this.run((s) => s.ping()), timeout]);
    } catch (e) {
      this.setStatus('unavailable', (e as Error).message);
    } finally {
      clearTimeout(timer);
    }
    return this.status;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.rulesTimer) clearTimeout(this.rulesTimer);
    const store = this.store;
    this.store = null;
    await store?.close();
  }
}
