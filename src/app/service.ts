import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import { createAccessControl } from '../auth/access.ts';
import type { Address, Config } from '../config/config.ts';
import { newLeaseOwner } from '../events/lease-workers.ts';
import { createNotifier, noNotify } from '../events/notifier.ts';
import { buildApiServer } from '../http/api-server.ts';
import { buildHealthServer } from '../http/health-server.ts';
import { buildMetricsServer } from '../http/metrics-server.ts';
import { closeUnusedConnectionsOnClose } from '../http/unused-connections.ts';
import { servedRoutes } from '../kinds/framework/served-routes.ts';
import type { ServiceDependencies } from '../kinds/framework/service.ts';
import { plugins } from '../kinds/plugins.ts';
import type { Step } from '../observability/progress.ts';
import { startTracer } from '../observability/tracing.ts';
import { HttpClient } from '../outbound/http-client.ts';
import { serviceName } from '../service-name.ts';
import { newKsuid } from '../values/ksuid.ts';
import { readBuildInfo } from './build-info.ts';
import { connectDatabase } from './database.ts';
import { createEventsSide } from './events.ts';
import { buildKinds } from './kinds.ts';
import { Metrics } from './metrics.ts';

export interface RunningService {
  // Undefined in the worker role, which serves no API.
  readonly apiUrl: string | undefined;
  readonly healthUrl: string;
  readonly metricsUrl: string;
  // Stops accepting, lets in-flight requests finish, then closes the pool and any embedded database.
  stop(): Promise<void>;
}

export interface Overrides {
  readonly clock?: () => Date;
  readonly newId?: () => string;
  readonly buildTime?: string;
  // Shows slow start-up steps (the embedded database's first start) in a terminal.
  readonly step?: Step;
}

// The composition root: every long-lived object of a `trex serve` process is created here and handed
// to whoever needs it.
export async function startService(
  config: Config,
  logger: Logger,
  overrides: Overrides = {},
): Promise<RunningService> {
  const newId = overrides.newId ?? newKsuid;
  const metrics = new Metrics();
  const build = readBuildInfo(overrides.buildTime);
  // Before any connection is opened: a broken ACL or policy file stops the start with nothing to undo.
  // The one outbound HTTP client: whoever calls other services gets it from here (the identity provider's
  // keys, webhook deliveries; tests point it at a local server, never at a mock).
  const outbound = new HttpClient(
    { timeoutMs: 10_000, retryDelayMs: 200, userAgent: `${serviceName}/${build.version}` },
    metrics,
  );
  const access = await createAccessControl({
    auth: config.auth,
    observer: metrics,
    fetchText: (request) => outbound.request(request),
    logger,
  });
  // Undefined when tracing is off: then no seam below installs anything (see observability/tracing.ts).
  const tracer = await startTracer(config.tracing, { name: serviceName, version: build.version });
  const database = await connectDatabase(
    config,
    logger,
    overrides.step,
    tracer && ((name, attributes, run) => tracer.inSpan(name, 'client', attributes, run)),
  ).catch(async (error: unknown) => {
    await tracer?.shutdown();
    throw error;
  });
  metrics.watchPool(database.pool);

  const deps: ServiceDependencies = {
    db: database.db,
    clock: overrides.clock ?? (() => new Date()),
    newId,
    notify: config.events.notify ? createNotifier(database.db, logger) : noNotify,
    locks: metrics,
    exactCountLimit: config.api.exactCountLimit,
  };
  // One owner for this process's claims on events and deliveries, which last --event-lease unless renewed.
  const lease = { owner: newLeaseOwner(), ms: config.events.leaseMs };
  const kinds = buildKinds(
    plugins,
    {
      config,
      database,
      logger,
      metrics: metrics.registry,
      outbound,
      newId,
      lease,
      grants: (claims, kind, verb) => access?.grants(claims, kind, verb) ?? true,
    },
    deps,
    tracer,
  );
  const events = createEventsSide({ config, database, kinds, metrics, lease, logger });

  const servesApi = config.role !== 'worker';
  if (servesApi && !config.auth.enableJwt) {
    logger.warn(`JWT authentication is off (environment ${config.environment}): every API route is open`);
  }
  const api = servesApi
    ? await buildApiServer({
        settings: config.api,
        logger,
        metrics,
        newId,
        build,
        tracer,
        routes: servedRoutes(kinds.served(), events.watch),
        access,
      })
    : undefined;
  const health = buildHealthServer({
    logger,
    databaseAnswers: () =>
      sql`select 1`.execute(database.db).then(
        () => true,
        () => false,
      ),
  });
  const metricsServer = buildMetricsServer(logger, metrics.registry);

  const servers: FastifyInstance[] = [];
  try {
    const apiUrl = api && (await listen(api, config.api.address, servers));
    const healthUrl = await listen(health, config.health.address, servers);
    const metricsUrl = await listen(metricsServer, config.metrics.address, servers);
    events.start();
    logger.info({ role: config.role, api: apiUrl, health: healthUrl, metrics: metricsUrl }, 'serving');
    return {
      apiUrl,
      healthUrl,
      metricsUrl,
      stop: async () => {
        await Promise.all(servers.map((server) => server.close()));
        await events.stop();
        await database.close();
        await tracer?.shutdown();
      },
    };
  } catch (error) {
    await Promise.allSettled(servers.map((server) => server.close()));
    await events.stop();
    await database.close();
    await tracer?.shutdown();
    throw error;
  }
}

async function listen(
  server: FastifyInstance,
  address: Address,
  started: FastifyInstance[],
): Promise<string> {
  closeUnusedConnectionsOnClose(server);
  await server.listen({ host: address.host, port: address.port });
  started.push(server);
  const bound = server.server.address();
  const port = typeof bound === 'object' && bound ? bound.port : address.port;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}`;
}
