// The events waiting for the controllers: how many the write workloads leave, whether the create
// workload outruns the controllers, and how fast they catch up once the load stops.
import type { BenchDatabase } from './database.ts';
import type { Side } from './load.ts';
import type { Report } from './report.ts';

export async function waitingEvents(database: BenchDatabase): Promise<number> {
  const [row] = await database.query<{ n: number }>(
    'select count(*)::int as n from events where reconciled_date is null and failed_at is null',
  );
  return row?.n ?? 0;
}

export interface BacklogProbe {
  readonly turns: Pick<Side, 'turnStarting' | 'turnEnded'>;
  result(createsPerSecond: number): NonNullable<Report['createBacklog']>;
}

// Counts the waiting events around each of TRex's measured turns of a workload. Growth is summed over
// those turns only: during the baseline's turns TRex takes no requests and its controllers catch up,
// which would hide a backlog that grows under load.
export async function backlogProbe(database: BenchDatabase): Promise<BacklogProbe> {
  const waitingBefore = await waitingEvents(database);
  let atTurnStart = 0;
  let grewBy = 0;
  let waitingAtEnd = waitingBefore;
  return {
    turns: {
      turnStarting: async () => {
        atTurnStart = await waitingEvents(database);
      },
      turnEnded: async () => {
        waitingAtEnd = await waitingEvents(database);
        grewBy += waitingAtEnd - atTurnStart;
      },
    },
    result: (createsPerSecond) => ({ createsPerSecond, waitingBefore, grewBy, waitingAtEnd }),
  };
}

// The events the write workloads left unhandled, and how fast the controllers handle them with no
// requests coming in.
export async function measureDrain(database: BenchDatabase, seconds: number): Promise<Report['backlog']> {
  const before = await waitingEvents(database);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const after = await waitingEvents(database);
  return { waitingAfterLoad: before, handledPerSecond: Math.round((before - after) / seconds) };
}
