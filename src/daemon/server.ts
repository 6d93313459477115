import type { FastifyInstance } from 'fastify';
import { SecureflowError } from '../core/errors.js';
import { resolveDatabase } from '../db/open-store.js';
import { buildApp } from './app.js';
import { DaemonState } from './daemon-state.js';
import { DaemonMetrics } from './metrics.js';
import { isLoopback, type ServeOptions } from './options.js';
import { connectRedis } from './redis.js';
import { TokenService } from './tokens.js';

export interface RunningServer {
  app: FastifyInstance;
  db: DaemonState;
  url: string;
  /** Stops accepting, finishes in-flight requests, closes the database and Redis. */
  close(): Promise<void>;
}

/** Opens the database, builds the app and listens. The only place that listens. */
export async function startServer(
  options: ServeOptions,
  extras: { logStream?: NodeJS.WritableStream } = {},
): Promise<RunningServer> {
  const resolved = resolveDatabase(options.db);
  const metrics = new DaemonMetrics();
  // Keys can arrive as Authorization or X-API-Key headers: neither is ever logged.
  const logger = {
    level: options.logLevel,
    redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]'], censor: '***' },
  };
  const { default: pino } = await import('pino');
  const log = extras.logStream ? pino(logger, extras.logStream) : pino(logger);
  const db = await DaemonState.open(resolved, {
    model: options.model,
    threshold: options.threshold,
    onStatus: (status, reason) => {
      metrics.databaseUp.set(status === 'connected' ? 1 : 0);
      if (status === 'connected') log.info({ database: resolved.display }, 'database connected');
      else log.warn({ database: resolved.display, reason }, 'database unavailable; writes answer 503 until it returns');
    },
  });

  const loopback = isLoopback(options.host);
  const connected = db.status === 'connected';
  if (!options.noAuth) {
    // Keys and users both let callers in: a daemon with either never runs open.
    const credentials = connected
      ? await db.run(async (s) => (await s.countActiveKeys()) + (await s.countActiveUsers()))
      : null;
    if (credentials === 0 && !loopback) {
      await db.close();
      throw new SecureflowError(
        'usage',
        `refusing to serve on ${options.host} without API keys: create one with \`secureflow keys create --name NAME --role scorer\` (or a user with \`secureflow users add\`), or pass --no-auth to serve without keys`,
      );
    }
    if (credentials === 0) {
      // Open only if no key or user has ever existed: revoking the last key must lock the API, not open it.
      if ((await db.run(async (s) => (await s.countKeysEver()) + (await s.countUsers()))) === 0)
        log.warn(
          'no API keys exist: the API is open to callers on this machine (secureflow keys create ... to require keys)',
        );
      else
        log.warn(
          'every API key is revoked and every user disabled: requests are refused until one is created (secureflow keys create ...)',
        );
    }
  } else log.warn('--no-auth: the API is open to anyone who can reach it');

  // Login tokens: JWT_SECRET, required off loopback once users exist; on loopback one is generated and kept.
  const tokens = new TokenService(db, {
    secret: options.jwtSecret,
    loopback,
    lifetimeSeconds: options.tokenLifetimeSeconds,
    warn: (message) => log.warn(message),
  });
  if (options.jwtSecret === undefined && connected && (await db.run((s) => s.countUsers())) > 0) {
    if (!loopback) {
      await db.close();
      throw new SecureflowError(
        'usage',
        `refusing to serve on ${options.host}: user accounts exist, so JWT_SECRET must be set (32+ random characters, e.g. \`openssl rand -base64 48\`) to sign their login tokens`,
      );
    }
    await tokens.signingKey(); // generated (or read) now, so that the warning comes at start
  }

  let redis: import('ioredis').Redis | undefined;
  if (options.redisUrl && options.rateLimit > 0) redis = await connectRedis(options.redisUrl, log);

  const app = await buildApp({ db, options, metrics, redis, logger: log, tokens });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (e) {
    await db.close();
    redis?.disconnect();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new SecureflowError('unavailable', `port ${options.port} on ${options.host} is already in use`);
    if (code === 'EACCES')
      throw new SecureflowError('unavailable', `not allowed to listen on ${options.host}:${options.port}`);
    throw e;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  // The explanation tables take ~0.1 s of CPU: built shortly after listening, so that the first health checks
  // answer at once (Fly starts machines on demand). Until then single predictions use TreeSHAP's Algorithm 2.
  setTimeout(() => db.model.prepareBatchExplanations(), 300).unref();
  log.info(
    {
      url,
      database: resolved.display,
      model_version: db.model.version,
      auth: options.noAuth ? 'off' : 'keys and logins',
      rate_limit: options.rateLimit || 'off',
    },
    'secureflow serving',
  );

  let closing: Promise<void> | null = null;
  return {
    app,
    db,
    url,
    close() {
      closing ??= (async () => {
        const drained = await app.drain(Math.max(1000, options.shutdownTimeoutMs - 2000));
        // At the deadline, sockets still open (slow bodies, stuck clients) are cut so that close() can finish.
        if (!drained) app.server.closeAllConnections();
        await app.close();
        await db.close();
        if (redis) await redis.quit().catch(() => redis!.disconnect());
      })();
      return closing;
    },
  };
}

/** Runs until SIGTERM or SIGINT, then shuts down gracefully (in-flight requests finish) within the timeout. */
export async function serveUntilSignalled(options: ServeOptions): Promise<void> {
  const server = await startServer(options);
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      server.app.log.info({ signal }, 'shutting down: finishing in-flight requests');
      const force = setTimeout(() => {
        server.app.log.error('shutdown took too long; exiting');
        process.exit(1);
      }, options.shutdownTimeoutMs);
      force.unref();
      server.close().then(
        () => {
          server.app.log.info('stopped');
          resolve();
        },
        (e: Error) => {
          server.app.log.error({ reason: e.message }, 'error while stopping');
          resolve();
        },
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
