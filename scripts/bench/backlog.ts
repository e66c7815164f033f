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

export interface QuietTurns {
  // Waits until no event waits for TRex's controllers.
  wait(): Promise<void>;
  // The largest backlog a turn left, and how fast the controllers handled those with no requests coming in.
  drained(): Report['backlog'];
}

// Every measured turn, TRex's and the baseline's, starts once TRex's controllers have handled the events
// earlier turns left: else they would handle them during the next turn, taking CPU from whichever
// server is measured then (during the baseline's turns, a flattering ratio for TRex). Unless they do not
// work (`working` false): then nothing is waited for.
export function quietTurns(database: BenchDatabase, working = true): QuietTurns {
  let handled = 0;
  let waitedMs = 0;
  let largest = 0;
  return {
    wait: async () => {
      if (!working) return;
      const started = performance.now();
      const first = await waitingEvents(database);
      for (let waiting = first; waiting > 0; waiting = await waitingEvents(database)) {
        if (performance.now() - started > 180_000) {
          throw new Error(`TRex's controllers still had ${waiting} events waiting after 3 minutes`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if (first === 0) return;
      handled += first;
      waitedMs += performance.now() - started;
      largest = Math.max(largest, first);
    },
    drained: () =>
      largest === 0
        ? undefined
        : { waitingAfterLoad: largest, handledPerSecond: Math.round(handled / (waitedMs / 1000)) },
  };
}
