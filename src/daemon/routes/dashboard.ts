import type { FastifyInstance } from 'fastify';
import { alertRateView, dashboardData } from '../../core/dashboard-data.js';
import type { RouteContext } from '../app.js';
import { routeSchemas, type ContractTypes } from '../contract/routes.js';
import { schemaCheck } from '../contract/validation.js';
import { intParam, queryOf } from './params.js';

/** The front end's dashboard: aggregates over the last `days` days. */
export function dashboardRoutes(untyped: FastifyInstance, { db, drift }: RouteContext): void {
  const app = untyped.withTypeProvider<ContractTypes>(); // handlers' answers are checked against the schemas
  app.get('/api/dashboard', { schema: routeSchemas.dashboard, config: { permission: 'read' } }, async (request) => {
    const q = queryOf(request.query);
    const days = intParam('days', q.days, 7, 1, 3650);
    const buckets = intParam('buckets', q.buckets, 48, 1, 1000);
    const flagged = intParam('flagged', q.flagged, 10, 0, 100);
    schemaCheck(request);
    // The contract's fields (stats, hourly_distribution, feedback, generated_at) and what the terminal
    // dashboard's panels need (risk levels, throughput, recent flagged with their top factor).
    const model = db.model;
    const data = await db.run((s) =>
      dashboardData(s, { days, buckets, flagged, modelVersion: model.version, alertRate: alertRateView(model) }),
    );
    // Drift over the same window, from the cache /metrics shares: null without traffic, absent until computed.
    const figures = await drift.latest((fn) => db.run(fn), model, days);
    return figures === undefined ? data : { ...data, drift: figures };
  });
}
