import type { FastifyInstance } from 'fastify';
import { alertRateView } from '../../core/dashboard-data.js';
import type { RouteContext } from '../app.js';
import { DriftGauges } from '../drift-metrics.js';
import { SERVE_DEFAULTS } from '../options.js';
import { routeSchemas, type ContractTypes } from '../contract/routes.js';

/** Liveness, readiness, warm-up and metrics: what probes and platforms call. */
export function healthRoutes(untyped: FastifyInstance, ctx: RouteContext): void {
  const { db, metrics, options, drift: driftCache } = ctx;
  const app = untyped.withTypeProvider<ContractTypes>(); // handlers' answers are checked against the schemas
  const open = { rateLimit: false } as const;

  // 200 while the process can serve, even with the database down (then "degraded"): a platform should not
  // restart a daemon for its database's outage.
  app.get('/api/health', { schema: routeSchemas.health, config: open }, async () => {
    const database = await db.check();
    metrics.databaseUp.set(database === 'connected' ? 1 : 0);
    return {
      status: database === 'connected' ? ('healthy' as const) : ('degraded' as const),
      database,
      database_kind: db.resolved.kind,
      model_version: db.model.version,
      alert_rate: alertRateView(db.model),
      timestamp: new Date().toISOString(),
    };
  });

  // For load balancers: 503 while writes would fail.
  app.get('/api/ready', { schema: routeSchemas.ready, config: open }, async (_request, reply) => {
    const database = await db.check();
    metrics.databaseUp.set(database === 'connected' ? 1 : 0);
    if (database !== 'connected') reply.status(503).header('retry-after', '5');
    return {
      ready: database === 'connected',
      database,
      model_version: db.model.version,
      timestamp: new Date().toISOString(),
    };
  });

  // The original front end sends this on every page load with `Content-Type: application/json` and no body.
  // The body is unused, so only here (an encapsulated plugin) an empty JSON body is accepted; every other route
  // keeps Fastify's parser and its 400 for an empty body. A non-empty body is still parsed (and refused if bad).
  app.register(async (scoped) => {
    const json = scoped.getDefaultJsonParser('error', 'error');
    scoped.removeContentTypeParser('application/json');
    scoped.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body: string, done) => {
      if (body === '') done(null, undefined);
      else json(request, body, done);
    });
    warmupRoute(scoped, ctx);
  });

  const drift = new DriftGauges(metrics, db, options.driftDays ?? SERVE_DEFAULTS.driftDays, driftCache);
  app.get('/metrics', { schema: routeSchemas.metrics, config: open }, async (_request, reply) => {
    metrics.setModel(db.model.version);
    await drift.refresh();
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}

function warmupRoute(untyped: FastifyInstance, { db, workers }: RouteContext): void {
  const app = untyped.withTypeProvider<ContractTypes>();
  // The original loaded its model lazily; here it is loaded at start, so warming builds the explanation
  // tables (here and in the batch workers, which it starts) and checks the database.
  app.post('/api/warmup', { schema: routeSchemas.warmup, config: { permission: 'score' } }, async () => {
    const start = process.hrtime.bigint();
    db.model.prepareBatchExplanations();
    db.model.explain([100, 12, 2, 1, 0]);
    await workers.warm(db.model);
    await db.check();
    return {
      status: 'warmed_up' as const,
      warmup_time_seconds: Number(process.hrtime.bigint() - start) / 1e9,
      model_version: db.model.version,
      database: db.status,
      timestamp: new Date().toISOString(),
    };
  });
}
