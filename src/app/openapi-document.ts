import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import pino from 'pino';
import { loadConfig } from '../config/config.ts';
import type { Database } from '../db/database.ts';
import { eventKind } from '../events/event-kind.ts';
import { noNotify } from '../events/notifier.ts';
import { buildApiServer } from '../http/api-server.ts';
import { KindDao } from '../kinds/framework/dao.ts';
import type { KindDefinition } from '../kinds/framework/kind.ts';
import type { PluginContext } from '../kinds/framework/plugin.ts';
import { KindService, type ServiceDependencies } from '../kinds/framework/service.ts';
import { Metrics } from '../observability/metrics.ts';
import { readBuildInfo } from './build-info.ts';
import { plugins } from './plugins.ts';

// The OpenAPI document `trex serve` serves, built without a database: the API server is built as
// startService builds it (the same plugins, the events API, the same routes and schemas) over a Kysely
// instance that never connects, and asked for its document. `npm run openapi` writes it to
// openapi/openapi.yaml; a test checks the running service serves exactly that.
export async function buildOpenApiDocument(): Promise<Record<string, unknown>> {
  const db = new Kysely<Database>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (instance) => new PostgresIntrospector(instance),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
  const metrics = new Metrics();
  const logger = pino({ level: 'silent' });
  // The defaults (no flags, no environment): none of them shows in the document.
  const config = loadConfig('serve', { dbUrl: 'postgres://unused' }, {});
  const context: PluginContext = { config, db, logger, kinds: plugins.map((plugin) => plugin.kind) };
  const deps: ServiceDependencies = {
    db,
    clock: () => new Date(),
    newId: () => 'unused',
    notify: noNotify,
    locks: metrics,
  };
  const service = (kind: KindDefinition): KindService => new KindService(kind, new KindDao(kind), deps);
  const app = await buildApiServer({
    settings: config.api,
    logger,
    metrics,
    newId: deps.newId,
    build: readBuildInfo(undefined),
    kinds: [
      ...plugins.map((plugin) => ({
        kind: plugin.kind,
        service: service(plugin.kind),
        routes: plugin.routes?.(context),
      })),
      { kind: eventKind, service: service(eventKind), readOnly: true },
    ],
    access: undefined,
    // Never called: nothing is served.
    watch: { handle: async () => undefined, closeAll: () => undefined },
  });
  try {
    await app.ready();
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close();
  }
}
