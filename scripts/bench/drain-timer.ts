// Times a queue's drain from outside, by SQL only, and counts the connections the draining process
// holds meanwhile (pg_stat_activity, by application_name), so it works whatever the pipeline's inside.
import type { BenchDatabase } from './database.ts';

export interface Drain {
  readonly seconds: number;
  readonly left: number; // items still waiting at the deadline (0 when it drained)
  // The most connections seen at once under each application_name of the draining process.
  readonly connections: Record<string, number>;
}

const pollMs = 25;
const censusEvery = 8; // polls between two counts of connections (200 ms)
const deadlineMs = 300_000;

// Starts the clock, calls `start`, and polls `remaining` until it answers 0 (or the deadline passes).
// `ownName` picks the draining process's connections out of the database's.
export async function timeDrain(
  database: BenchDatabase,
  start: () => Promise<void>,
  remaining: () => Promise<number>,
  ownName: (applicationName: string) => boolean,
): Promise<Drain> {
  const connections: Record<string, number> = {};
  const began = performance.now();
  await start();
  let left = Number.POSITIVE_INFINITY;
  for (let poll = 0; ; poll++) {
    if (poll % censusEvery === 0) await census(database, ownName, connections);
    left = await remaining();
    if (left === 0 || performance.now() - began > deadlineMs) break;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  const seconds = (performance.now() - began) / 1000;
  return { seconds, left, connections };
}

async function census(
  database: BenchDatabase,
  ownName: (applicationName: string) => boolean,
  most: Record<string, number>,
): Promise<void> {
  const rows = await database.query<{ name: string; n: number }>(
    `select application_name as name, count(*)::int as n from pg_stat_activity
     where datname = current_database() group by 1`,
  );
  for (const { name, n } of rows) if (ownName(name)) most[name] = Math.max(most[name] ?? 0, n);
}

export const connectionTotal = (connections: Record<string, number>): number =>
  Object.values(connections).reduce((total, n) => total + n, 0);
