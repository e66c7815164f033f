// The time from a create to its event's handling, with creates paced evenly, as the events table
// records it (created_at → reconciled_date).
import type { BenchDatabase } from './database.ts';
import { paceCreates } from './pace-creates.ts';
import type { Report } from './report.ts';
import type { Target } from './workloads.ts';

export const latencyCreatesPerSecond = 1000;

// Two seconds of the same go first, their events left out: the first creates of a fresh process open
// its pool's connections and compile its code.
export async function measureEventLatency(
  database: BenchDatabase,
  target: Target,
  seconds: number,
): Promise<Report['eventLatency']> {
  const perSecond = latencyCreatesPerSecond;
  await paceCreates(target, perSecond, Math.min(2, seconds));
  await allHandled(database, new Date(0));
  const [{ started }] = (await database.query<{ started: Date }>('select now() as started')) as [
    { started: Date },
  ];
  const paced = await paceCreates(target, perSecond, seconds);
  await allHandled(database, started);
  const [latency] = await database.query<{ p50: number; p99: number; events: number; unhandled: number }>(
    `select
       percentile_cont(0.5) within group (order by extract(epoch from reconciled_date - created_at) * 1000) as p50,
       percentile_cont(0.99) within group (order by extract(epoch from reconciled_date - created_at) * 1000) as p99,
       count(*)::int as events, count(*) filter (where reconciled_date is null)::int as unhandled
     from events where created_at >= $1`,
    [started],
  );
  return {
    perSecond,
    achievedPerSecond: paced.achievedPerSecond,
    maxSendLagMs: paced.maxSendLagMs,
    createErrors: paced.failed,
    events: latency?.events ?? 0,
    unhandled: latency?.unhandled ?? 0,
    p50Ms: Math.round(latency?.p50 ?? 0),
    p99Ms: Math.round(latency?.p99 ?? 0),
  };
}

// Waits (a minute at most) until every event written since `since` is handled.
async function allHandled(database: BenchDatabase, since: Date): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const [row] = await database.query<{ waiting: number }>(
      `select count(*)::int as waiting from events where created_at >= $1 and reconciled_date is null`,
      [since],
    );
    if (row?.waiting === 0 || Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
