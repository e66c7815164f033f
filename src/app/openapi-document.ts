import pino from 'pino';
import { loadConfig } from '../config/config.ts';
import { offlineDatabase } from '../db/offline.ts';
import { noNotify } from '../events/notifier.ts';
import { buildApiServer } from '../http/api-server.ts';
import { servedRoutes } from '../kinds/framework/served-routes.ts';
import { plugins } from '../kinds/plugins.ts';
import { HttpClient } from '../outbound/http-client.ts';
import { readBuildInfo } from './build-info.ts';
import { buildKinds } from './kinds.ts';
import { Metrics } from './metrics.ts';

// The OpenAPI document `trex serve` serves, built without a database: the API server is built as
// startService builds it (the same plugins and routes) over a Kysely instance that never connects, and
// asked for its document. `npm run openapi` writes it to openapi/openapi.yaml; a test checks the running
// service serves exactly that.
export async function buildOpenApiDocument(): Promise<Record<string, unknown>> {
  const db = offlineDatabase();
  const metrics = new Metrics();
  const logger = pino({ level: 'silent' });
  // The defaults (no flags, no environment): none of them shows in the document.
  const config = loadConfig('serve', { dbUrl: 'postgres://unused' }, {});
  const newId = (): string => 'unused';
  // Only the routes are asked for: no controller, background work or outbound call is made.
  const kinds = buildKinds(
    plugins,
    {
      config,
      database: { url: 'postgres://unused', db },
      logger,
      metrics: metrics.registry,
      outbound: new HttpClient({ timeoutMs: 1, retryDelayMs: 1, userAgent: 'unused' }, metrics),
      newId,
      lease: { owner: 'unused', ms: config.events.leaseMs },
      grants: () => true,
    },
    { db, clock: () => new Date(), newId, notify: noNotify, locks: metrics, exactCountLimit: 0 },
    undefined,
  );
  const app = await buildApiServer({
    settings: config.api,
    logger,
    metrics,
    newId,
    build: readBuildInfo(undefined),
    // Never called: nothing is served.
    routes: servedRoutes(kinds.served(), { handle: async () => undefined, closeAll: () => undefined }),
    access: undefined,
  });
  try {
    await app.ready();
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close();
  }
}
