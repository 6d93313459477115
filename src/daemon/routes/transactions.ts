import type { FastifyInstance } from 'fastify';
import { ISO_DATE_RULE, parseIsoDate } from '../../core/iso-date.js';
import { storedResult } from '../../core/stored-result.js';
import { transactionView } from '../../core/scored-views.js';
import type { RouteContext } from '../app.js';
import { routeSchemas, type ContractTypes } from '../contract/routes.js';
import { schemaCheck } from '../contract/validation.js';
import { SecureflowError } from '../../core/errors.js';
import { badRequest } from '../http-error.js';
import { boolParam, intParam, positiveId, queryOf } from './params.js';

/** Most rows one GET /api/transactions returns (limit, per_page): a page, not an export; page on with offset. */
export const MAX_PAGE_SIZE = 1000;

/** Looking back: stored transactions, a page at a time, and one with its feedback. */
export function transactionRoutes(untyped: FastifyInstance, { db }: RouteContext): void {
  const app = untyped.withTypeProvider<ContractTypes>(); // handlers' answers are checked against the schemas
  app.get(
    '/api/transactions',
    { schema: routeSchemas.transactions, config: { permission: 'read' } },
    async (request) => {
      const q = queryOf(request.query);
      const page = intParam('page', q.page, 1, 1, 1_000_000);
      const perPage = intParam('per_page', q.per_page, 20, 1, MAX_PAGE_SIZE);
      // limit/offset (what the CLI's --remote sends) override page/per_page.
      const limit = intParam('limit', q.limit, perPage, 1, MAX_PAGE_SIZE);
      const offset = intParam('offset', q.offset, (page - 1) * perPage, 0, Number.MAX_SAFE_INTEGER);
      let since: Date | undefined;
      if (q.since !== undefined && q.since !== '') {
        since = parseIsoDate(q.since) ?? undefined;
        if (!since) throw badRequest('since', `${ISO_DATE_RULE}, got ${JSON.stringify(q.since.slice(0, 64))}`);
      }
      const anomaliesOnly = boolParam('anomalies', q.anomalies);
      schemaCheck(request);
      const { rows, total } = await db.run((s) =>
        s.listTransactions({ anomaliesOnly, since, batchId: q.batch_id || undefined, limit, offset }),
      );
      return {
        transactions: rows.map((r) => transactionView(r)),
        pagination: { page, per_page: perPage, total, pages: Math.ceil(total / perPage) },
      };
    },
  );

  app.get(
    '/api/transactions/:id',
    { schema: routeSchemas.transaction, config: { permission: 'read' } },
    async (request) => {
      const id = positiveId('id', (request.params as { id: string }).id);
      schemaCheck(request);
      const row = await db.run((s) => s.getTransaction(id));
      if (!row) throw new SecureflowError('not_found', `transaction ${id} not found`, { field: 'id' });
      const result = await db.run((s) => storedResult(s, row));
      const history = row.feedback ? await db.run((s) => s.feedbackHistory(id)) : [];
      return {
        ...transactionView(row),
        shap_explanation: result.shap_explanation,
        shap_base_value: result.shap_base_value,
        risk_factors: result.risk_factors,
        feedback_history: history,
      };
    },
  );
}
