// A `trex serve` process of the benchmark's own, on free ports, in the production environment.
import { freePort, type ServerProcess, startServer } from './processes.ts';

export interface TrexProcess {
  readonly server: ServerProcess;
  readonly url: string; // the API server's base URL
  readonly metricsPort: number;
}

// `env` adds to (or overrides) the settings every benchmark TRex runs with; `nodeArgs` go before the
// script (a CPU profile, say).
export async function startTrex(
  databaseUrl: string,
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): Promise<TrexProcess> {
  const apiPort = await freePort();
  const metricsPort = await freePort();
  const server = await startServer(
    [...nodeArgs, 'bin/trex.js', 'serve'],
    {
      TREX_ENV: 'production',
      TREX_DB_URL: databaseUrl,
      TREX_API_SERVER_BINDADDRESS: `127.0.0.1:${apiPort}`,
      TREX_METRICS_SERVER_BINDADDRESS: `127.0.0.1:${metricsPort}`,
      TREX_HEALTH_CHECK_SERVER_BINDADDRESS: `127.0.0.1:${await freePort()}`,
      TREX_LOG_LEVEL: 'info',
      ...env,
    },
    /"msg":"serving"/,
  );
  return { server, url: `http://127.0.0.1:${apiPort}`, metricsPort };
}
