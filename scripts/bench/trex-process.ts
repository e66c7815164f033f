// A `trex serve` process of the benchmark's own, on free ports, in the production environment.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type ServerProcess, startServer } from './processes.ts';

// Production needs the key that seals webhook secrets: one for every process of the run.
const secretKeyFile = join(mkdtempSync(join(tmpdir(), 'trex-bench-keys-')), 'webhook-secret-keys');
writeFileSync(secretKeyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });

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
      TREX_WEBHOOK_SECRET_KEY_FILE: secretKeyFile,
      ...env,
    },
    /"msg":"serving"/,
  );
  return { server, url: `http://127.0.0.1:${apiPort}`, metricsPort };
}
