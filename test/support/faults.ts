// Database-side tools for fault-injection tests: sessions that hold what a busy replica would hold,
// views of pg_stat_activity and pg_locks, and checks that nothing a client was told about got lost.
import KSUID from 'ksuid';
import pg from 'pg';
import { cleanEnvironment, freePorts, startTrex, type TrexProcess, waitFor } from './cli.ts';
import { collection, type Outcome } from './load.ts';

export type Query = <R extends pg.QueryResultRow = pg.QueryResultRow>(
  text: string,
  values?: unknown[],
) => Promise<R[]>;

// A single connection that survives being terminated (it reports errors, never throws them at the
// process); `application_name` tells it apart in pg_stat_activity.
export async function connectClient(url: string, applicationName: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: applicationName });
  client.on('error', () => {});
  await client.connect();
  return client;
}

// A small pool for the test's own queries: it reconnects after an outage by itself.
export function queryPool(url: string): { query: Query; close(): Promise<void> } {
  const pool = new pg.Pool({ connectionString: url, max: 2, application_name: 'trex-test' });
  pool.on('error', () => {});
  return {
    query: async (text, values) => (await pool.query(text, values)).rows,
    close: () => pool.end(),
  };
}

// The backend pids of this database's sessions with that application name.
export async function backendPids(
  query: Query,
  database: string,
  applicationName: string,
): Promise<number[]> {
  const rows = await query<{ pid: number }>(
    'select pid from pg_stat_activity where datname = $1 and application_name = $2 order by pid',
    [database, applicationName],
  );
  return rows.map((row) => row.pid);
}

// pg_terminate_backend on every session of `database` but the caller's own; returns the application
// names of the sessions it ended.
export async function terminateEveryBackend(client: pg.Client, database: string): Promise<string[]> {
  const { rows } = await client.query<{ application_name: string; terminated: boolean }>(
    `select application_name, pg_terminate_backend(pid) as terminated from pg_stat_activity
      where datname = $1 and pid <> pg_backend_pid()`,
    [database],
  );
  return rows.filter((row) => row.terminated).map((row) => row.application_name);
}

export interface ClaimHolder {
  // The events written already claimed: no worker can take them until their claims lapse.
  readonly eventIds: readonly string[];
  // Holds one dinosaur's row lock in an open transaction, as a writer would, until the session ends.
  lockRow(id: string): Promise<void>;
  close(): Promise<void>;
}

// A session doing what a replica's worker does mid-handler: it writes an Update event for each of
// `sourceIds` already claimed under a lease of `leaseMs`, and notifies. It never renews them, as a
// replica that died would not: once the lease lapses the service must reconcile those events itself.
export async function holdEventClaims(
  url: string,
  sourceIds: readonly string[],
  leaseMs = 5000,
): Promise<ClaimHolder> {
  const client = await connectClient(url, 'trex-test-holder');
  const eventIds: string[] = [];
  for (const sourceId of sourceIds) {
    const id = KSUID.randomSync().string;
    await client.query(
      `insert into events (id, source, source_id, event_type, created_at, updated_at, claimed_by,
         claim_expires_at)
       values ($1, 'Dinosaurs', $2, 'Update', now(), now(), 'trex-test-holder',
         now() + $3::float8 * interval '1 millisecond')`,
      [id, sourceId, leaseMs],
    );
    await client.query(`select pg_notify('events', $1)`, [id]);
    eventIds.push(id);
  }
  return {
    eventIds,
    lockRow: async (id) => {
      await client.query('begin');
      await client.query('select 1 from dinosaurs where id = $1 for update', [id]);
    },
    close: () => client.end().catch(() => undefined),
  };
}

export interface EventState {
  readonly total: number;
  readonly waiting: number; // neither reconciled nor failed
  readonly failed: number;
}

export async function eventState(query: Query): Promise<EventState> {
  const [row] = await query<{ total: string; waiting: string; failed: string }>(
    `select count(*) as total,
            count(*) filter (where reconciled_date is null and failed_at is null) as waiting,
            count(*) filter (where failed_at is not null) as failed
       from events`,
  );
  return { total: Number(row?.total), waiting: Number(row?.waiting), failed: Number(row?.failed) };
}

// Polls until every event of the database is reconciled; fails naming what is left.
export async function waitUntilAllReconciled(query: Query, timeoutMs: number): Promise<EventState> {
  let state: EventState = { total: 0, waiting: -1, failed: 0 };
  try {
    await waitFor(
      async () => {
        state = await query<{ c: string }>('select 1 as c').then(
          () => eventState(query),
          () => state, // the database may still be coming back
        );
        return state.waiting === 0;
      },
      'every event is reconciled',
      timeoutMs,
      200,
    );
  } catch (error) {
    const left = await query(
      `select id, source_id, event_type, attempts, last_error, next_attempt_at, failed_at from events
        where reconciled_date is null order by created_at limit 5`,
    ).catch(() => []);
    throw new Error(
      `${(error as Error).message}; ${JSON.stringify(state)}; first left: ${JSON.stringify(left)}`,
    );
  }
  return state;
}

export async function unreconciledOf(query: Query, ids: readonly string[]): Promise<string[]> {
  const rows = await query<{ id: string }>(
    'select id from events where id = any($1) and reconciled_date is null',
    [ids],
  );
  return rows.map((row) => row.id).sort(); // JavaScript's order, not the database's collation
}

// What clients were told that the database does not show: every 201 has its row and its Create event,
// every 200 PATCH its Update event. Also every dinosaur has exactly one Create event, and every Create
// event its dinosaur (a change and its event commit together, even when the connection dies mid-way).
export async function lostWrites(query: Query, outcomes: readonly Outcome[]): Promise<string[]> {
  const problems: string[] = [];
  const created = outcomes.filter((outcome) => outcome.kind === 'create' && outcome.status === 201);
  const createdIds = created.map((outcome) => String(outcome.body?.id));
  const found = await query<{ id: string; species: string; creates: string }>(
    `select d.id, d.species,
            (select count(*) from events e where e.source_id = d.id and e.event_type = 'Create') as creates
       from dinosaurs d where d.id = any($1)`,
    [createdIds],
  );
  const byId = new Map(found.map((row) => [row.id, row]));
  for (const outcome of created) {
    const row = byId.get(String(outcome.body?.id));
    if (!row) problems.push(`created ${outcome.body?.id} (${outcome.operationId}) is missing`);
    else if (row.creates !== '1') problems.push(`created ${row.id} has ${row.creates} Create events`);
  }
  const patched = outcomes.filter((outcome) => outcome.kind === 'patch' && outcome.status === 200);
  const updates = await query<{ species: string }>(
    `select object->>'species' as species from events where event_type = 'Update' and object->>'species' = any($1)`,
    [patched.map((outcome) => outcome.species)],
  );
  const updated = new Set(updates.map((row) => row.species));
  for (const outcome of patched) {
    if (!updated.has(outcome.species ?? '')) {
      problems.push(
        `PATCH ${outcome.path} to ${outcome.species} (${outcome.operationId}) has no Update event`,
      );
    }
  }
  // The dinosaurs' events only: a test may also have made a webhook.
  const unpaired = await query<{ id: string }>(
    `select d.id from dinosaurs d
      where (select count(*) from events e where e.source_id = d.id and e.event_type = 'Create') <> 1
     union all
     select e.source_id from events e
      where e.source = 'Dinosaurs' and e.event_type = 'Create'
        and not exists (select 1 from dinosaurs d where d.id = e.source_id)`,
  );
  for (const row of unpaired) problems.push(`dinosaur ${row.id} and its Create event do not pair up`);
  return problems;
}

// Whether a write the client got no answer to reached the database anyway.
export async function writeLanded(query: Query, outcome: Outcome): Promise<boolean> {
  if (outcome.kind === 'create') {
    const rows = await query('select 1 from dinosaurs where species = $1', [outcome.species]);
    return rows.length > 0;
  }
  if (outcome.kind === 'patch') {
    const rows = await query(`select 1 from events where object->>'species' = $1`, [outcome.species]);
    return rows.length > 0;
  }
  return false;
}

export interface ServeProcess {
  readonly trex: TrexProcess;
  readonly apiUrl: string;
  readonly healthUrl: string;
  readonly metricsUrl: string;
  // The service's JSON log lines so far.
  logs(): Record<string, unknown>[];
}

// `trex serve` on free ports against `dbUrl`, JWT off; resolves once its API answers.
export async function startServe(
  dbUrl: string,
  extraArgs: readonly string[],
  cwd: string,
  timeoutMs = 45_000,
): Promise<ServeProcess> {
  const [api, metrics, health] = await freePorts(3);
  const trex = startTrex(
    [
      'serve',
      `--db-url=${dbUrl}`,
      '--enable-jwt=false',
      `--api-server-bindaddress=127.0.0.1:${api}`,
      `--metrics-server-bindaddress=127.0.0.1:${metrics}`,
      `--health-check-server-bindaddress=127.0.0.1:${health}`,
      ...extraArgs,
    ],
    { cwd, env: cleanEnvironment({ TREX_ENV: 'integration_testing', TREX_LOG_LEVEL: 'info' }) },
  );
  const serve: ServeProcess = {
    trex,
    apiUrl: `http://127.0.0.1:${api}`,
    healthUrl: `http://127.0.0.1:${health}`,
    metricsUrl: `http://127.0.0.1:${metrics}`,
    logs: () =>
      trex
        .stdout()
        .split('\n')
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
  };
  try {
    await waitFor(
      async () => {
        if (trex.hasExited()) {
          throw new Error(`trex exited before serving:\n${trex.stderr()}\n${trex.stdout().slice(-2000)}`);
        }
        try {
          const response = await fetch(`${serve.apiUrl}${collection}`, { signal: AbortSignal.timeout(2000) });
          return response.status === 200;
        } catch {
          return false;
        }
      },
      `${serve.apiUrl} serves`,
      timeoutMs,
      200,
    );
  } catch (error) {
    await trex.kill();
    throw error;
  }
  return serve;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
