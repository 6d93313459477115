import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../app.js';
import { intParam, queryOf } from './params.js';

/** The front end's dashboard: aggregates over the last `days` days. */
export function dashboardRoutes(app: FastifyInstance, { db }: RouteContext): void {
  app.get('/api/dashboard', { config: { permission: 'read' } }, async (request) => {
    const days = intParam('days', queryOf(request.query).days, 7, 1, 3650);
    const since = new Date(Date.now() - days * 86_400_000);
    const d = await db.run((s) => s.dashboard(since));
    return {
      stats: {
        total_transactions: d.total_transactions,
        anomalies_detected: d.anomalies_detected,
        avg_anomaly_score: d.avg_anomaly_score,
        anomaly_rate: d.anomaly_rate,
      },
      hourly_distribution: d.hourly_distribution,
      feedback: d.feedback,
      days,
      since: since.toISOString(),
      model_version: db.model.version,
      generated_at: new Date().toISOString(),
    };
  });
}
