import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Redis } from 'ioredis';
import {
  checkLoopbackHost,
  KeyChecker,
  presentedKey,
  requirePermission,
  type Permission,
  type Principal,
} from './auth.js';
import { openapi } from './contract/openapi.js';
import { csvBodyParser } from './csv-body.js';
import { kindOfStatus, SecureflowError } from '../core/errors.js';
import type { DaemonState } from './daemon-state.js';
import { toHttpError } from './http-error.js';
import { TokenService } from './tokens.js';
import { loadShedding } from './load-shedding.js';
import { DaemonMetrics } from './metrics.js';
import { StoredDriftCache } from '../core/drift-cache.js';
import { isLoopback, type ServeOptions } from './options.js';
import { VERSION } from '../cli/version.js';
import { authRoutes } from './routes/auth.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { feedbackRoutes } from './routes/feedback.js';
import { healthRoutes } from './routes/health.js';
import { predictRoutes } from './routes/predict.js';
import { ruleRoutes } from './routes/rules.js';
import { ScoringWorkers } from './scoring-workers.js';
import { transactionRoutes } from './routes/transactions.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's key, once checked; null when auth is off (or open on loopback with no keys). */
    principal: Principal | null;
  }
  interface FastifyInstance {
    /**
     * Stops taking requests (503, Connection: close) and resolves once every response in flight has been
     * handed to the OS, or at `timeoutMs`. Call before close(): Node's server.close() destroys keep-alive
     * sockets whose response has ended but not yet flushed, cutting large responses short.
     */
    drain(timeoutMs: number): Promise<boolean>;
  }
  interface FastifyContextConfig {
    /** What the route needs; routes without one are open (health, readiness, metrics). */
    permission?: Permission;
  }
}

export interface AppDeps {
  /** The daemon's state (daemon-state.ts): the store while connected, its status and the model scored with. */
  db: DaemonState;
  options: ServeOptions;
  metrics?: DaemonMetrics;
  /** Shared rate-limit counters (REDIS_URL). */
  redis?: Redis;
  /** A pino logger; none: silent. */
  logger?: FastifyBaseLogger;
  /** Login tokens; default: one from options (JWT_SECRET, or the database's on loopback). */
  tokens?: TokenService;
}

/** What route files get: the app's parts, nothing global. */
export interface RouteContext {
  db: DaemonState;
  options: ServeOptions;
  metrics: DaemonMetrics;
  /** Drift of the stored traffic, shared by /metrics and /api/dashboard (recomputed at most once a minute). */
  drift: StoredDriftCache;
  /** Checks keys and login tokens (refresh needs it). */
  keys: KeyChecker;
  tokens: TokenService;
  /** Worker threads that score and explain large predict-batch requests. */
  workers: ScoringWorkers;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Builds the HTTP app (routes, auth, limits, errors, metrics) without listening: tests call it in-process. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { db, options } = deps;
  const metrics = deps.metrics ?? new DaemonMetrics();
  metrics.setModel(db.model.version);
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    bodyLimit: options.bodyLimit,
    // A caller's X-Request-Id is kept when it is sane, so logs on both sides line up.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    // One access-log line a request (below), not Fastify's two: the second line cost ~4% of /api/predict's CPU.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // Behind Fly's proxy or the front end's nginx, the caller's address is in X-Forwarded-For (--trust-proxy).
    trustProxy: typeof options.trustProxy === 'number' ? trustHops(options.trustProxy) : options.trustProxy,
    // Slow clients (1 byte/s) cannot hold sockets: Node answers 408 and closes; checked every second.
    requestTimeout: options.requestTimeoutMs,
    keepAliveTimeout: options.keepAliveTimeoutMs,
    http: {
      headersTimeout: Math.min(options.headersTimeoutMs, options.requestTimeoutMs),
      connectionsCheckingInterval: 1000,
    },
  });
  app.decorateRequest('principal', null);

  // Responses in flight, for drain(): a count. A Set holding each response until it closed had V8 promote every
  // request's objects to the old generation (1.2 MB a scavenge under load, 8% of /api/predict's CPU; bench/).
  let inflight = 0;
  const closed = () => {
    inflight--;
  };
  let draining = false;
  // With LOG_LEVEL=debug (or trace) a line when a request arrives too, to see requests that never finish.
  if (deps.logger && ['debug', 'trace'].includes(deps.logger.level))
    app.addHook('onRequest', async (request) => {
      request.log.debug({ req: request }, 'incoming request');
    });
  // Hooks that never wait take a callback, not an async function: a promise per hook per request adds up (bench/).
  app.addHook('onRequest', (_request, reply, done) => {
    if (draining) {
      reply.header('connection', 'close');
      done(new SecureflowError('unavailable', 'shutting down: retry shortly', {}, { headers: { 'retry-after': '1' } }));
      return;
    }
    inflight++;
    // A response emits close once, when it has finished (handed to the OS) or its connection went away.
    reply.raw.once('close', closed);
    done();
  });
  app.decorate('drain', (timeoutMs: number) => {
    draining = true;
    const deadline = Date.now() + timeoutMs;
    return new Promise<boolean>((resolve) => {
      const check = () => {
        if (inflight === 0) resolve(true);
        else if (Date.now() >= deadline) resolve(false);
        else setTimeout(check, 10);
      };
      check();
    });
  });

  csvBodyParser(app, options);

  await app.register(cors, {
    origin: options.corsOrigins.includes('*') ? '*' : options.corsOrigins,
    methods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['Content-Type', 'Authorization', 'X-API-Key', 'X-Request-Id'],
    exposedHeaders: ['Retry-After', 'X-Request-Id', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'],
    maxAge: 600,
  });

  await loadShedding(app, options); // before auth: a lagging process sheds work before checking keys

  const loopback = isLoopback(options.host);
  const tokens =
    deps.tokens ??
    new TokenService(db, {
      secret: options.jwtSecret,
      loopback,
      lifetimeSeconds: options.tokenLifetimeSeconds,
      warn: (message) => deps.logger?.warn(message),
    });
  const keys = new KeyChecker(db, tokens);
  const authorize = async (request: FastifyRequest, permission: Permission): Promise<void> => {
    const key = presentedKey(request.headers);
    if (key === null) {
      // A daemon on loopback where no key has ever existed is a developer's: open, as `serve` warned at start,
      // but only to pages that name it by a loopback name (a DNS-rebinding page names its own host).
      if (loopback && !(await keys.keysEverExisted())) return checkLoopbackHost(request.headers.host);
      throw new SecureflowError(
        'auth',
        'an API key is required: Authorization: Bearer KEY or X-API-Key: KEY (or a login token: Authorization: Bearer TOKEN)',
        {},
        { headers: { 'www-authenticate': 'Bearer' } },
      );
    }
    request.principal = await keys.check(key, request.ip);
    requirePermission(request.principal, permission);
  };
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    const permission = request.routeOptions.config.permission;
    if (!permission || options.noAuth || request.method === 'OPTIONS') return done();
    authorize(request, permission).then(() => done(), done);
  });

  // Always registered: logins are limited per username and address (routes/auth.ts) even with --rate-limit 0.
  await app.register(rateLimit, {
    global: options.rateLimit > 0,
    hook: 'preHandler', // after auth: counted per key
    max: options.rateLimit,
    timeWindow: 1000,
    redis: deps.redis,
    nameSpace: options.rateLimitNamespace,
    skipOnError: true, // Redis down: serve rather than refuse everyone
    keyGenerator: (req) => (req.principal ? `${req.principal.kind}:${req.principal.id}` : `ip:${req.ip}`),
    errorResponseBuilder: (_req, ctx) =>
      new SecureflowError(
        'rate_limited',
        `rate limit exceeded: ${ctx.max} requests per second; retry in ${Math.ceil(ctx.ttl / 1000)} s`,
        {
          limit: ctx.max,
          retry_after_seconds: Math.ceil(ctx.ttl / 1000),
        },
      ),
  });

  // The level is fixed at start: below info, the access line's object is not even made.
  const logsRequests = deps.logger !== undefined && ['trace', 'debug', 'info'].includes(deps.logger.level);
  app.addHook('onResponse', (request, reply, done) => {
    if (logsRequests)
      request.log.info(
        {
          req: { method: request.method, url: request.url },
          res: { statusCode: reply.statusCode },
          responseTime: reply.elapsedTime,
        },
        'request completed',
      );
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requestDuration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const http = toHttpError(
      error instanceof SecureflowError ? error : fromFastify(error, options),
      options.retryAfterSeconds,
    );
    if (http.status === 503) metrics.databaseErrors.inc({ route: request.routeOptions.url ?? 'unmatched' });
    if (http.status >= 500 && http.status !== 503) request.log.error({ err: error }, 'request failed');
    reply.status(http.status).headers(http.headers).send({ error: http.message, details: http.details });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ error: `not found: ${request.method} ${request.url.split('?')[0]}`, details: {} });
  });

  await openapi(app, VERSION); // before the routes: it checks and publishes each one's schema
  const workers = new ScoringWorkers();
  app.addHook('onClose', () => workers.close());
  const ctx: RouteContext = { db, options, metrics, drift: new StoredDriftCache(), keys, tokens, workers };
  healthRoutes(app, ctx);
  authRoutes(app, ctx);
  predictRoutes(app, ctx);
  feedbackRoutes(app, ctx);
  dashboardRoutes(app, ctx);
  transactionRoutes(app, ctx);
  ruleRoutes(app, ctx);
  return app;
}

/** Fastify's own errors (body parsing, limits, rate limit) as SecureflowErrors; anything unknown is internal (500). */
function fromFastify(error: FastifyError, options: ServeOptions): SecureflowError {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new SecureflowError('too_large', `request body too large: the limit is ${options.bodyLimit} bytes`, {
        limit_bytes: options.bodyLimit,
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new SecureflowError(
        'unsupported_media_type',
        `unsupported content type: send application/json${error.message.includes('csv') ? '' : ' (or text/csv for predict-batch)'}`,
        {},
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new SecureflowError('invalid', 'the request body is empty: send a JSON object', { field: 'body' });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new SecureflowError('invalid', 'Content-Length does not match the body', { field: 'body' });
  }
  if (error.statusCode === 429) return new SecureflowError('rate_limited', error.message);
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new SecureflowError('invalid', `malformed JSON: ${error.message}`, { field: 'body' });
  }
  // Fastify's other 4xx (404, 414, ...) by the kind their status stands for in ERROR_KINDS.
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return new SecureflowError(kindOfStatus(error.statusCode), error.message, { code: error.code });
  }
  return new SecureflowError('internal', "internal error (logged with this request's id)", {});
}

/** The nearest `hops` proxies are trusted (what proxy-addr does for a number, which Fastify's types do not take). */
function trustHops(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
}
