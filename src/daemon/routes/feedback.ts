import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../app.js';
import { routeSchemas, type ContractTypes } from '../contract/routes.js';
import { schemaCheck } from '../contract/validation.js';
import { SecureflowError } from '../../core/errors.js';
import { actorName } from '../auth.js';
import { badRequest } from '../http-error.js';
import { positiveId } from './params.js';

/** An analyst's verdict on a scored transaction: one current per transaction; a second replaces it, kept as history. */
export function feedbackRoutes(untyped: FastifyInstance, { db }: RouteContext): void {
  const app = untyped.withTypeProvider<ContractTypes>(); // handlers' answers are checked against the schemas
  app.post('/api/feedback', { schema: routeSchemas.feedback, config: { permission: 'feedback' } }, async (request) => {
    const body = request.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw badRequest('body', 'must be a JSON object {transaction_id, feedback}');
    const b = body as Record<string, unknown>;
    const id = positiveId('transaction_id', b.transaction_id);
    // The original's names (feedback, comments) and the schema's (is_correct, notes) are both accepted.
    const verdict = b.feedback !== undefined ? b.feedback : b.is_correct;
    const field = b.feedback !== undefined ? 'feedback' : 'is_correct';
    if (verdict === undefined) throw badRequest('feedback', 'is required: true if the verdict was right, false if not');
    if (typeof verdict !== 'boolean') throw badRequest(field, `must be true or false, got ${JSON.stringify(verdict)}`);
    const notesRaw = b.comments !== undefined ? b.comments : b.notes;
    if (notesRaw !== undefined && notesRaw !== null && typeof notesRaw !== 'string') {
      throw badRequest(b.comments !== undefined ? 'comments' : 'notes', 'must be a string');
    }
    schemaCheck(request);
    const notes = typeof notesRaw === 'string' && notesRaw.trim() !== '' ? notesRaw.slice(0, 2000) : null;
    const by = actorName(request.principal);
    const saved = await db.run((s) => s.upsertFeedback(id, verdict, notes, by));
    if (!saved) throw new SecureflowError('not_found', `transaction ${id} not found`, { field: 'transaction_id' });
    return {
      // Told apart by the store under its lock, not by timestamps: of concurrent verdicts one is recorded, the
      // others each say which verdict they replaced (kept as history).
      message: saved.previous === null ? 'feedback recorded' : 'feedback updated',
      transaction_id: id,
      feedback: saved.is_correct,
      id: saved.id,
      is_correct: saved.is_correct,
      notes: saved.notes,
      created_at: saved.created_at,
      updated_at: saved.updated_at,
      recorded_by: saved.recorded_by,
      previous: saved.previous && {
        feedback: saved.previous.is_correct,
        notes: saved.previous.notes,
        recorded_by: saved.previous.recorded_by,
        recorded_at: saved.previous.recorded_at,
      },
    };
  });
}
