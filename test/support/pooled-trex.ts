// Real `trex serve` processes behind a PgBouncer in transaction mode (test/support/pgbouncer.ts), as an
// operator runs them: every query through the pooler, LISTEN straight to PostgreSQL, no prepared
// statements (PgBouncer 1.18 keeps none).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { RawOptions } from '../../src/config/config.ts';
import { options as optionTable } from '../../src/config/options.ts';
import { bindFlags, cleanEnvironment, exitWithin, startTrex, type TrexProcess, waitFor } from './cli.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { type PgBouncer, startPgBouncer } from './pgbouncer.ts';
import { type ApiInit, type ApiResponse, callApi, type TestService } from './service.ts';
import { createTestKeys } from './tokens.ts';

export const apiBase = '/api/rh-trex/v1';

export interface Replica {
  readonly trex: TrexProcess;
  readonly apiUrl: string;
  readonly healthUrl: string;
  readonly metricsUrl: string;
  // The flags it was started with.
  readonly args: readonly string[];
  // Every JSON log line it wrote so far, parsed.
  readonly logs: Record<string, unknown>[];
  // Calls its API (with `token` as bearer when given here or in `init`).
  api(path: string, init?: ApiInit): Promise<ApiResponse>;
  // SIGTERM, and SIGKILL if it has not exited within 20 s; then its working directory goes.
  stop(): Promise<void>;
  // SIGKILL: a replica that dies mid-work.
  kill(): Promise<void>;
}

export interface ReplicaOptions {
  // More flags (`--event-lease=2s`); JWT is off unless these turn it on.
  readonly args?: readonly string[];
  // Bearer token for `api` and for the readiness poll (JWT on).
  readonly token?: string;
  // What tells it serves: its list endpoint answering 200 (a query through the pooler), or, while a
  // test holds the dinosaurs table locked, its readiness endpoint (/readyz: the database answers).
  readonly ready?: 'list' | 'readyz';
}

// The flags that put a replica of `database` behind `pooler`.
function pooledFlags(database: TestDatabase, pooler: PgBouncer): string[] {
  return [
    `--db-url=${pooler.pooled(database.url)}`,
    `--db-listen-url=${database.url}`,
    '--db-prepared-statements=false',
  ];
}

// Starts `trex serve` on free loopback ports with `database` behind `pooler`, and waits until its list
// endpoint answers 200 (through the pooler). A port picked free may be taken before trex binds it (by
// another file's pooler or replica, or a client's ephemeral port): then it starts again on other ports.
export async function startPooledReplica(
  database: TestDatabase,
  pooler: PgBouncer,
  options: ReplicaOptions = {},
): Promise<Replica> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(database, pooler, options);
    } catch (error) {
      if (attempt >= 3 || !/EADDRINUSE/.test((error as Error).message)) throw error;
    }
  }
}

// The replicas of one database share the key that seals webhook secrets, as a deployment's do: a secret
// one replica sealed, another must open.
const secretKeyFiles = new Map<string, string>();
function sharedSecretKeyFile(database: TestDatabase): string {
  let file = secretKeyFiles.get(database.name);
  if (!file) {
    file = join(mkdtempSync(join(tmpdir(), 'trex-pooled-keys-')), 'webhook-secret-keys');
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    secretKeyFiles.set(database.name, file);
  }
  return file;
}

async function startOnce(
  database: TestDatabase,
  pooler: PgBouncer,
  options: ReplicaOptions,
): Promise<Replica> {
  const extra = options.args ?? [];
  const bind = await bindFlags();
  const jwt = extra.some((arg) => arg.startsWith('--enable-jwt')) ? [] : ['--enable-jwt=false'];
  const args = [
    'serve',
    ...pooledFlags(database, pooler),
    ...jwt,
    `--webhook-secret-key-file=${sharedSecretKeyFile(database)}`,
    ...bind.args,
    ...extra,
  ];
  // Its own empty working directory: no secrets/ files or configuration of the checkout are read.
  const cwd = mkdtempSync(join(tmpdir(), 'trex-pooled-'));
  const trex = startTrex(args, { cwd, env: cleanEnvironment({ TREX_ENV: 'integration_testing' }) });
  const logs: Record<string, unknown>[] = [];
  let partial = '';
  trex.child.stdout?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line));
      } catch {
        // not a log line
      }
    }
  });
  const headers = (token?: string): Record<string, string> =>
    token ? { authorization: `Bearer ${token}` } : {};
  const replica: Replica = {
    trex,
    apiUrl: bind.apiUrl,
    healthUrl: bind.healthUrl,
    metricsUrl: bind.metricsUrl,
    args,
    logs,
    api: (path, init = {}) => callApi(bind.apiUrl, path, init, options.token),
    stop: async () => {
      if (!trex.hasExited()) {
        trex.child.kill('SIGTERM');
        await exitWithin(trex, 20_000).catch(() => trex.kill());
      }
      rmSync(cwd, { recursive: true, force: true });
    },
    kill: () => trex.kill(),
  };
  try {
    await waitFor(
      async () => {
        if (trex.hasExited()) {
          throw new Error(`trex exited before serving:\n${trex.stderr()}\n${trex.stdout().slice(-3000)}`);
        }
        try {
          const url =
            options.ready === 'readyz' ? `${bind.healthUrl}/readyz` : `${bind.apiUrl}${apiBase}/dinosaurs`;
          const response = await fetch(url, { headers: headers(options.token) });
          await response.arrayBuffer();
          return response.status === 200;
        } catch {
          return false;
        }
      },
      `${bind.apiUrl} serves through the pooler (${args.join(' ')})`,
      60_000,
      250,
    );
  } catch (error) {
    await trex.kill();
    rmSync(cwd, { recursive: true, force: true });
    const tail = trex.stdout().split('\n').slice(-8).join('\n');
    throw new Error(`${(error as Error).message}\nlast output:\n${tail}\n${trex.stderr().slice(-2000)}`);
  }
  return replica;
}

// What test/support/service.ts's startTestService gives (a service on a fresh database, JWT on, trusting
// a key of its own), as a real `trex serve` behind a PgBouncer of its own: the shared suites (the Kind
// contract) run against it unchanged. The pooler and the database go when it stops.
export async function startPooledTestService(flags: RawOptions = {}): Promise<TestService> {
  const database = await createTestDatabase();
  const cleanups: (() => Promise<void>)[] = [() => database.drop()];
  const cleanUp = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    const pooler = await startPgBouncer(inject('adminUrl'));
    cleanups.push(() => pooler.stop());
    const keys = await createTestKeys();
    const replica = await startPooledReplica(database, pooler, {
      args: [
        '--enable-jwt=true',
        `--jwk-cert-file=${keys.jwksFile}`,
        '--db-max-open-connections=10',
        ...flagsOf(flags),
      ],
      token: await keys.mint(),
    });
    cleanups.push(() => replica.stop());
    return {
      apiUrl: replica.apiUrl,
      healthUrl: replica.healthUrl,
      metricsUrl: replica.metricsUrl,
      database,
      keys,
      logs: replica.logs,
      api: replica.api,
      stop: cleanUp,
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

// `--flag=value` for each RawOptions-style entry (camelCase keys of src/config/options.ts; keys the table
// does not know yet are spelled in kebab case).
function flagsOf(flags: Readonly<Record<string, string | boolean | undefined>>): string[] {
  return Object.entries(flags)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => {
      const known = (optionTable as Record<string, { flag: string } | undefined>)[key];
      const flag = known?.flag ?? key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
      return `--${flag}=${String(value)}`;
    });
}

// Events of `database` not reconciled yet.
export async function unreconciledEvents(database: TestDatabase): Promise<number> {
  const [row] = await database.query<{ count: number }>(
    'select count(*)::int as count from events where reconciled_date is null',
  );
  return row?.count ?? -1;
}

// Advisory locks held in `database` right now (any session, granted or waited for).
export async function advisoryLocks(database: TestDatabase): Promise<number> {
  const [row] = await database.query<{ count: number }>(
    `select count(*)::int as count from pg_locks
     where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`,
  );
  return row?.count ?? -1;
}

// Runs `task` over `items` with at most `width` in flight.
export async function inParallel<T, R>(
  items: readonly T[],
  width: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await task(items[index] as T, index);
      }
    }),
  );
  return results;
}
