import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { routeSchemas } from './routes.js';
import { validatorCompiler } from './validation.js';

/**
 * Publishes the contract: every route must carry a response schema (the app refuses to build otherwise), and
 * GET /api/openapi.json serves them as OpenAPI 3. The document is open, like /api/health: it describes the API,
 * holds no data or secrets, and a client needs it before it has a key.
 */
export async function openapi(app: FastifyInstance, version: string): Promise<void> {
  app.setValidatorCompiler(validatorCompiler);
  // fast-json-stringify, as Fastify's default, but each answer's serialiser is built when first needed: some
  // thirty of them at start would add a tenth of a second to the daemon's cold start.
  const build = SerializerSelector()({}, {});
  app.setSerializerCompiler((route) => {
    let serialize: ((data: unknown) => string) | undefined;
    return (data) => {
      serialize ??= build({ ...route, httpStatus: route.httpStatus ?? 'default' });
      return serialize(data);
    };
  });
  app.addHook('onRoute', (route) => {
    if (route.schema?.hide || route.method === 'OPTIONS' || route.method === 'HEAD') return;
    if (!route.schema?.response)
      throw new Error(
        `route ${String(route.method)} ${route.url} has no response schema: describe it in contract/routes.ts`,
      );
    route.attachValidation = true; // see schemaCheck
  });
  // schemaCheck always refuses a request its schema refused: one answered with success never passed through it,
  // so its route forgot the call. A bug, answered 500 and logged (the random-input tests in edge.test.ts find it).
  app.addHook('onSend', (request, reply, payload, done) => {
    if (!request.validationError || reply.statusCode >= 400) return done(null, payload);
    done(new Error(`${request.method} ${request.routeOptions.url}: the schema refused the request; call schemaCheck`));
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'secureflow',
        version,
        description: 'Fraud scoring with an explained isolation forest. Errors are {error, details: {field}}.',
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description:
              "Authorization: Bearer KEY (an API key) or Bearer TOKEN (a user's login token, POST /api/auth/login)",
          },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
    },
  });
  app.get('/api/openapi.json', { schema: routeSchemas.openapi, config: { rateLimit: false } }, async () =>
    app.swagger(),
  );
}
