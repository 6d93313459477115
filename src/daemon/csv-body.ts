import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { readCsvTransactions, TooManyRows, type ReadBatch } from '../core/batch-body.js';
import { SecureflowError } from '../core/errors.js';
import type { ServeOptions } from './options.js';
import { boolParam, queryOf } from './routes/params.js';

/** A CSV body read by the parser below: already counted, checked and turned into feature rows. */
export interface CsvBody {
  csv: ReadBatch;
}

export function isCsvBody(body: unknown): body is CsvBody {
  return typeof body === 'object' && body !== null && (body as Partial<CsvBody>).csv?.features instanceof Float64Array;
}

const CSV_ROUTE = '/api/predict-batch';

/**
 * text/csv bodies are parsed as they arrive, a chunk at a time: rows are counted on the way, so a body with
 * more than the batch limit is refused (413) after a few hundred KB rather than parsed whole, and no single
 * step holds the event loop for long. Fastify's bodyLimit does not apply to stream parsers: counted here.
 */
export function csvBodyParser(app: FastifyInstance, options: ServeOptions): void {
  app.addContentTypeParser(
    ['text/csv', 'application/csv'],
    async (request: FastifyRequest, payload: IncomingMessage): Promise<CsvBody> => {
      if (request.routeOptions.url !== CSV_ROUTE)
        throw new SecureflowError(
          'unsupported_media_type',
          `unsupported content type: send application/json (text/csv is for ${CSV_ROUTE})`,
        );
      // Past the body limit the rest is not read: the connection closes after the answer.
      const tooLarge = () =>
        new SecureflowError(
          'too_large',
          `request body too large: the limit is ${options.bodyLimit} bytes`,
          { limit_bytes: options.bodyLimit },
          { headers: { connection: 'close' } },
        );
      if (Number(request.headers['content-length']) > options.bodyLimit) throw tooLarge();
      const strict = boolParam('strict', queryOf(request.query).strict) ?? false;
      let received = 0;
      let overLimit = false;
      // Not destroyed when reading stops early: the 413 must still reach the caller on this socket.
      const pieces = payload.iterator({ destroyOnReturn: false });
      async function* counted(): AsyncGenerator<Buffer> {
        for await (const piece of pieces) {
          const buf = typeof piece === 'string' ? Buffer.from(piece) : (piece as Buffer);
          received += buf.length;
          if (received > options.bodyLimit) {
            overLimit = true; // stop reading; the reader's partial result is thrown away below
            return;
          }
          yield buf;
        }
      }
      try {
        const csv = await readCsvTransactions(counted(), { strict, maxRows: options.batchLimit });
        if (overLimit) throw tooLarge();
        return { csv };
      } catch (e) {
        if (overLimit) throw tooLarge();
        // The rest of the body (up to the body limit) is read and thrown away unparsed before answering: a client
        // still sending when the answer comes and the socket closes sees a broken pipe instead of the 413.
        if (!payload.readableEnded) {
          for await (const piece of payload.iterator({ destroyOnReturn: false })) {
            received += (piece as Buffer).length;
            if (received > options.bodyLimit) throw tooLarge();
          }
        }
        if (e instanceof TooManyRows) {
          throw new SecureflowError(
            'too_large',
            `too many transactions: more than ${options.batchLimit}, the limit is ${options.batchLimit} per request`,
            { limit: options.batchLimit },
          );
        }
        throw e;
      }
    },
  );
}
