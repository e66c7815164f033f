// Many watch streams on one process (docs/events.md#watching-a-collection): 200 streams, each with a
// search of its own or shared with a few others, each receive exactly the changes their search passes, in
// stream order, while the process reads the events table once per wake for all of them.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetrics, total } from '../support/prometheus.ts';
import { serviceForFile } from '../support/service.ts';
import { openSse, type SseStream } from '../support/sse.ts';

const collection = '/api/rh-trex/v1/dinosaurs';
const service = serviceForFile();
const tag = `fan-${randomBytes(4).toString('hex')}`;
const speciesCount = 45; // the writes' species: s0 .. s44, the last few only some searches pass
const speciesOf = (n: number): string => `${tag}-s${n % speciesCount}`;

// A stream's search, as the query sends it and as this test evaluates it.
interface Watched {
  readonly search: string;
  readonly passes: (species: string) => boolean;
}

// 120 streams on 40 equality searches (three streams each), 40 on `in` pairs, 40 on prefixes.
const watched: Watched[] = Array.from({ length: 200 }, (_, i): Watched => {
  if (i < 120) {
    const species = speciesOf(i % 40);
    return { search: `species = '${species}'`, passes: (value) => value === species };
  }
  if (i < 160) {
    const pair = [speciesOf(i - 120), speciesOf(i - 119)];
    return { search: `species in ('${pair[0]}', '${pair[1]}')`, passes: (value) => pair.includes(value) };
  }
  const prefix = speciesOf(i - 160);
  return { search: `species like '${prefix}%'`, passes: (value) => value.startsWith(prefix) };
});

let streams: SseStream[] = [];
beforeAll(async () => {
  const token = await service.keys.mint();
  streams = await Promise.all(
    watched.map(({ search }) =>
      openSse(`${service.apiUrl}${collection}?${new URLSearchParams({ watch: 'true', search })}`, {
        authorization: `Bearer ${token}`,
      }),
    ),
  );
}, 60_000);
afterAll(() => {
  for (const stream of streams) stream.close();
});

async function scrapeReads(): Promise<{ reads: number; searches: number; open: number }> {
  const samples = parseMetrics(await (await fetch(`${service.metricsUrl}/metrics`)).text());
  const count = (reader: string): number =>
    total(samples, 'watch_read_count', { source: 'Dinosaurs', reader });
  return {
    reads: count('shared') + count('catch-up'),
    searches: count('searches'),
    open: total(samples, 'watch_streams_open'),
  };
}

// Runs `work` over `items`, `width` at a time, so commits interleave as a busy service's do.
async function inParallel<T>(
  items: readonly T[],
  width: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

describe('200 watch streams on one process, each with a search', () => {
  it('each receives exactly the changes its search passes, in stream order; the reads do not grow with the streams', async () => {
    const before = await scrapeReads();
    expect(before.open).toBe(200);
    const started = Date.now();

    // 120 creates over the 45 species, then 40 of them moved to another species and 20 deleted.
    const ids: string[] = [];
    let writes = 0;
    await inParallel(
      Array.from({ length: 120 }, (_, n) => n),
      8,
      async (n) => {
        const response = await service.api(collection, { method: 'POST', body: { species: speciesOf(n) } });
        expect(response.status).toBe(201);
        ids[n] = response.body.id;
        writes++;
      },
    );
    await inParallel(
      Array.from({ length: 40 }, (_, n) => n * 3),
      8,
      async (n) => {
        const response = await service.api(`${collection}/${ids[n]}`, {
          method: 'PATCH',
          body: { species: speciesOf(n + 7) },
        });
        expect(response.status).toBe(200);
        writes++;
      },
    );
    await inParallel(
      Array.from({ length: 20 }, (_, n) => n * 5 + 1),
      8,
      async (n) => {
        expect((await service.api(`${collection}/${ids[n]}`, { method: 'DELETE' })).status).toBe(204);
        writes++;
      },
    );
    // Then one more create of each species, after everything above committed: every search passes one
    // of them, so a stream has had all it was to get once its first sentinel arrived.
    const sentinels = new Set<string>();
    for (let n = 0; n < speciesCount; n++) {
      const response = await service.api(collection, { method: 'POST', body: { species: speciesOf(n) } });
      sentinels.add(response.body.id);
      writes++;
    }

    // What each stream is to get: the events of the changes, in stream order, whose resource (as the
    // change left it) passes its search.
    const events = await service.database.query<{ id: string; event_type: string; species: string }>(
      `select id, event_type, object->>'species' as species from events
       where source = 'Dinosaurs' and source_id = any($1) order by txid, seq`,
      [ids],
    );
    expect(events).toHaveLength(180);
    const types: Record<string, string> = { Create: 'ADDED', Update: 'MODIFIED', Delete: 'DELETED' };

    for (const [i, stream] of streams.entries()) {
      const { search, passes } = watched[i] as Watched;
      await stream.waitUntil(
        () => stream.messages.some((message) => sentinels.has(JSON.parse(message.data).object.id)),
        `a sentinel on the stream searching ${search}`,
        30_000,
      );
      const first = stream.messages.findIndex((message) => sentinels.has(JSON.parse(message.data).object.id));
      const expected = events.filter((event) => passes(event.species));
      expect(expected.length, search).toBeGreaterThan(0);
      expect(
        stream.messages.slice(0, first).map((message) => [message.id, message.event]),
        search,
      ).toEqual(expected.map((event) => [event.id, types[event.event_type]]));
    }

    // Each wake (a notification per write, or the poll each second) makes one read for all 200 streams,
    // and, when it read events, one statement for their 120 distinct searches; a read per stream and wake
    // would have made over 200 × 225.
    const after = await scrapeReads();
    const seconds = Math.ceil((Date.now() - started) / 1000);
    expect(writes).toBe(225);
    expect(after.reads - before.reads).toBeGreaterThan(0);
    expect(after.reads - before.reads).toBeLessThanOrEqual(writes + seconds + 5);
    expect(after.searches - before.searches).toBeGreaterThan(0);
    expect(after.searches - before.searches).toBeLessThanOrEqual(after.reads - before.reads);
  }, 120_000);
});
