import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import KSUID from 'ksuid';
import pg from 'pg';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { parseMetrics, total } from '../support/prometheus.ts';
import { serviceForFile, startTestService, type TestService } from '../support/service.ts';
import { openSse, type SseMessage, type SseStream } from '../support/sse.ts';

const collection = '/api/rh-trex/v1/dinosaurs';

const service = serviceForFile();
let token: string;
beforeAll(async () => {
  token = await service.keys.mint();
});

// Every stream a test opens is closed after it, pass or fail.
const streams: SseStream[] = [];
afterEach(() => {
  for (const stream of streams.splice(0)) stream.close();
});

const unique = (name: string): string => `${name}-${randomBytes(5).toString('hex')}`;

async function watch(
  query = '',
  headers: Record<string, string> = {},
  target: TestService = service,
): Promise<SseStream> {
  const bearer = target === service ? token : await target.keys.mint();
  const stream = await openSse(`${target.apiUrl}${collection}?watch=true${query}`, {
    authorization: `Bearer ${bearer}`,
    ...headers,
  });
  streams.push(stream);
  return stream;
}

interface Change {
  readonly id: string | undefined;
  readonly event: string;
  // biome-ignore lint/suspicious/noExplicitAny: the resource as JSON
  readonly data: { type: string; object: any };
}

const parse = (message: SseMessage): Change => ({
  id: message.id,
  event: message.event,
  data: JSON.parse(message.data),
});

async function create(species: string, target: TestService = service, bearer?: string) {
  const response = await target.api(collection, { method: 'POST', body: { species }, token: bearer });
  expect(response.status).toBe(201);
  return response.body;
}

async function patch(id: string, species: string) {
  const response = await service.api(`${collection}/${id}`, { method: 'PATCH', body: { species } });
  expect(response.status).toBe(200);
  return response.body;
}

async function remove(id: string) {
  const response = await service.api(`${collection}/${id}`, { method: 'DELETE' });
  expect(response.status).toBe(204);
}

// The ids of a resource's events, as the events API shows them.
async function eventIdsOf(sourceId: string): Promise<Record<string, string>> {
  const response = await service.api(
    `/api/rh-trex/v1/events?search=${encodeURIComponent(`source_id = '${sourceId}'`)}`,
  );
  expect(response.status).toBe(200);
  return Object.fromEntries(
    response.body.items.map((item: { event_type: string; id: string }) => [item.event_type, item.id]),
  );
}

// Makes one more change and waits for it: everything committed before it has then been delivered, so
// the messages before it are exactly what the stream sent for the changes a test made.
async function settle(stream: SseStream, species = unique('sentinel'), target: TestService = service) {
  const sentinel = await create(species, target);
  await stream.waitUntil(
    () => stream.messages.some((message) => parse(message).data.object.id === sentinel.id),
    `the sentinel ${sentinel.id}`,
  );
  const changes = stream.messages.map(parse);
  const at = changes.findIndex((change) => change.data.object.id === sentinel.id);
  expect(changes.slice(at).map((change) => change.data.object.id)).toEqual([sentinel.id]);
  return changes.slice(0, at);
}

// The ids of the events of these resources, in the order a stream must deliver them.
async function streamOrder(sourceIds: string[]): Promise<string[]> {
  const rows = await service.database.query<{ id: string }>(
    `select id from events where source = 'Dinosaurs' and source_id = any($1) order by txid, seq`,
    [sourceIds],
  );
  return rows.map((row) => row.id);
}

describe('GET /dinosaurs?watch=true (docs/events.md#watching-a-collection)', () => {
  it('answers text/event-stream and sends ADDED, MODIFIED and DELETED with event id, type and resource', async () => {
    const stream = await watch();
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);

    const created = await create(unique('Watchosaurus'));
    await stream.waitForMessages(1);
    const patched = await patch(created.id, unique('Patchosaurus'));
    await stream.waitForMessages(2);
    await remove(created.id);
    await stream.waitForMessages(3);

    const ids = await eventIdsOf(created.id);
    expect(Object.keys(ids).sort()).toEqual(['Create', 'Delete', 'Update']);
    expect(await settle(stream)).toEqual([
      { id: ids.Create, event: 'ADDED', data: { type: 'ADDED', object: created } },
      { id: ids.Update, event: 'MODIFIED', data: { type: 'MODIFIED', object: patched } },
      { id: ids.Delete, event: 'DELETED', data: { type: 'DELETED', object: patched } },
    ]);
  });

  it('needs a token', async () => {
    const stream = await watch('', { authorization: '' });
    expect(stream.status).toBe(401);
    expect(JSON.parse(stream.body)).toMatchObject({ code: 'rh-trex-15' });
  });

  it('starts at the present: changes committed before the watch opened are not sent', async () => {
    const before = [await create(unique('Earlyosaurus')), await create(unique('Earlyosaurus'))];
    await patch(before[0].id, unique('Earlierosaurus'));
    const stream = await watch();
    const after = await create(unique('Lateosaurus'));
    const changes = await settle(stream);
    expect(changes.map((change) => [change.event, change.data.object.id])).toEqual([['ADDED', after.id]]);
  });

  it('sends a change whose transaction began before the watch opened but committed after', async () => {
    const { inFlight, earlier, stream, later } = await watchAcrossAnOpenTransaction();
    const changes = await settle(stream);
    expect(changes.map((change) => [change.id, change.event, change.data.object.id])).toEqual([
      [inFlight.eventId, 'ADDED', inFlight.id],
      [(await eventIdsOf(later.id)).Create, 'ADDED', later.id],
    ]);
    expect(changes.map((change) => change.data.object.id)).not.toContain(earlier.id);
  });

  it('applies the search filter', async () => {
    const stream = await watch(`&search=${encodeURIComponent("species like 'keep%'")}`);
    const kept = await create(unique('keep-a'));
    const dropped = await create(unique('drop-b'));
    const keptPatched = await patch(kept.id, unique('keep-a2'));
    await patch(dropped.id, unique('drop-b2'));
    await remove(dropped.id);
    await remove(kept.id);

    const changes = await settle(stream, unique('keep-sentinel'));
    const ids = await eventIdsOf(kept.id);
    expect(changes.map((change) => [change.id, change.event, change.data.object.id])).toEqual([
      [ids.Create, 'ADDED', kept.id],
      [ids.Update, 'MODIFIED', kept.id],
      [ids.Delete, 'DELETED', kept.id],
    ]);
    expect(changes[2]?.data.object).toEqual(keptPatched);
  });

  it('answers a bad search with 400 code 21 and no stream', async () => {
    const stream = await watch(`&search=${encodeURIComponent('nope = 1')}`);
    expect(stream.status).toBe(400);
    expect(JSON.parse(stream.body)).toMatchObject({ kind: 'Error', code: 'rh-trex-21' });
  });

  it('resumes after Last-Event-ID with exactly the missed changes, no gap and no duplicate', async () => {
    const first = await watch();
    const one = await create(unique('Resumeosaurus'));
    const two = await create(unique('Resumeosaurus'));
    const seen = (await first.waitForMessages(2)).map(parse);
    expect(seen.map((change) => change.data.object.id)).toEqual([one.id, two.id]);
    first.close();
    await first.waitForEnd();

    const three = await create(unique('Missedosaurus'));
    const onePatched = await patch(one.id, unique('Missedpatch'));
    await remove(two.id);

    const resumed = await watch('', { 'last-event-id': seen[1]?.id ?? '' });
    expect(resumed.status).toBe(200);
    const missed = await settle(resumed);
    expect(missed.map((change) => [change.event, change.data.object.id])).toEqual([
      ['ADDED', three.id],
      ['MODIFIED', one.id],
      ['DELETED', two.id],
    ]);
    expect(missed.map((change) => change.id)).toEqual([
      (await eventIdsOf(three.id)).Create,
      (await eventIdsOf(one.id)).Update,
      (await eventIdsOf(two.id)).Delete,
    ]);
    expect(missed[1]?.data.object).toEqual(onePatched);

    // Resuming from the first event seen sends the second one again, then all the later ones (the
    // sentinel above included).
    const later = resumed.messages.map((message) => message.id);
    const fromFirst = await watch('', { 'last-event-id': seen[0]?.id ?? '' });
    const rest = await settle(fromFirst);
    expect(rest.map((change) => change.id)).toEqual([seen[1]?.id, ...later]);
  });

  it('carries in each message the resource as that change left it, even when read later', async () => {
    const first = await watch();
    expect(await settle(first)).toEqual([]);
    const sentinelId = first.messages.at(-1)?.id ?? '';
    first.close();

    const created = await create(unique('Historyosaurus'));
    await new Promise((resolve) => setTimeout(resolve, 5)); // distinct updated_at values
    const once = await patch(created.id, unique('Onceosaurus'));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const twice = await patch(created.id, unique('Twiceosaurus'));
    await remove(created.id);

    const resumed = await watch('', { 'last-event-id': sentinelId });
    const changes = await settle(resumed);
    expect(changes.map((change) => [change.event, change.data.object])).toEqual([
      ['ADDED', created],
      ['MODIFIED', once],
      ['MODIFIED', twice],
      ['DELETED', twice],
    ]);
  });

  it('resumes in stream order after the named event: nothing before it, nothing twice', async () => {
    const { inFlight, earlier, stream, later } = await watchAcrossAnOpenTransaction();
    const changes = await settle(stream);
    expect(changes.map((change) => change.data.object.id)).toEqual([inFlight.id, later.id]);
    stream.close();

    // `earlier` committed before the first watch opened, which therefore hid it; but its transaction
    // started after `inFlight`'s, so the stream's order puts it after `inFlight`. A resumed stream
    // knows only the event it resumes from, and continues in that order (docs/events.md).
    const resumed = await watch('', { 'last-event-id': inFlight.eventId });
    const after = (await settle(resumed)).map((change) => [change.event, change.data.object.id]);
    const ids = new Set([inFlight.id, earlier.id, later.id]);
    // (The first stream's settle() wrote one more row after these; it follows them in the stream too.)
    expect(after.filter(([, id]) => ids.has(id))).toEqual([
      ['ADDED', earlier.id],
      ['ADDED', later.id],
    ]);
    expect(new Set(after.map(([, id]) => id)).size).toBe(after.length);
  });

  it('is not held back by a transaction open in another database of the same server', async () => {
    const elsewhere = await createTestDatabase();
    const client = new pg.Client(elsewhere.url);
    await client.connect();
    try {
      const stream = await watch();
      // Another application's transaction, e.g. a long report or a session left idle in a transaction:
      // it cannot write this database's events, so it must not delay this stream.
      await client.query('begin');
      await client.query('select pg_current_xact_id()');
      const created = await create(unique('Unblockedosaurus'));
      await stream.waitUntil(
        () => stream.messages.some((message) => parse(message).data.object.id === created.id),
        'the change, while the other database has a transaction open',
        10_000,
      );
    } finally {
      await client.query('rollback').catch(() => {});
      await client.end();
      await elsewhere.drop();
    }
  });

  it('answers an unknown Last-Event-ID with 400', async () => {
    const stream = await watch('', { 'last-event-id': KSUID.randomSync().string });
    expect(stream.status).toBe(400);
    expect(JSON.parse(stream.body)).toMatchObject({ kind: 'Error' });
  });

  it('delivers every change of many concurrent writers exactly once, in commit order', async () => {
    const stream = await watch();
    const tokens = await Promise.all(['w1', 'w2', 'w3'].map((username) => service.keys.mint({ username })));
    const existing = [];
    for (let i = 0; i < 10; i++) existing.push(await create(unique('Crowdosaurus')));
    const burst = await Promise.all([
      ...Array.from({ length: 30 }, (_, i) =>
        create(unique(`Crowd${i}`), service, tokens[i % tokens.length]),
      ),
      ...existing.map((row) => patch(row.id, unique('Crowdpatch'))),
    ]);
    const ids = [...existing.map((row) => row.id), ...burst.slice(0, 30).map((row) => row.id)];

    const changes = await settle(stream);
    const expected = await streamOrder(ids);
    expect(expected).toHaveLength(50);
    expect(changes.map((change) => change.id)).toEqual(expected);
    expect(new Set(changes.map((change) => change.id)).size).toBe(50);
    expect(changes.filter((change) => change.event === 'ADDED')).toHaveLength(40);
    expect(changes.filter((change) => change.event === 'MODIFIED')).toHaveLength(10);
  });

  it('lets a slow client catch up with everything, in order', async () => {
    const stream = await watch();
    stream.pause();
    const filler = 'x'.repeat(2048);
    const created: { id: string; species: string }[] = [];
    for (let batch = 0; batch < 30; batch++) {
      created.push(
        ...(await Promise.all(
          Array.from({ length: 10 }, (_, i) => create(`Slow-${batch * 10 + i}-${filler}`)),
        )),
      );
    }
    stream.resume();

    const changes = await settle(stream);
    expect(changes).toHaveLength(300);
    expect(changes.map((change) => change.id)).toEqual(await streamOrder(created.map((row) => row.id)));
    const species = new Map(created.map((row) => [row.id, row.species]));
    for (const change of changes) {
      expect(change.event).toBe('ADDED');
      expect(change.data.object.species).toBe(species.get(change.data.object.id));
    }
  }, 90_000);
});

describe('watch streams and slow clients', () => {
  it('does not pile up listeners on the response while a slow client catches up', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      if (warning.name === 'MaxListenersExceededWarning') warnings.push(warning.message);
    };
    process.on('warning', onWarning);
    try {
      const stream = await watch();
      stream.pause();
      const filler = 'y'.repeat(8192);
      for (let batch = 0; batch < 20; batch++) {
        await Promise.all(Array.from({ length: 10 }, (_, i) => create(`Leak-${batch * 10 + i}-${filler}`)));
      }
      stream.resume();
      expect(await settle(stream)).toHaveLength(200);
      // Each wait for 'drain' must not leave a listener behind: a stream that meets backpressure again
      // and again would otherwise hold more and more of them for as long as it lives.
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  }, 90_000);
});

describe('watch streams of a service of their own', () => {
  let own: TestService | undefined;
  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    await own?.stop();
    own = undefined;
  });

  it('lets go of streams whose clients leave at once', async () => {
    // A gone client is noticed when its socket reports it, at the latest on the next write: heartbeats
    // every 200 ms bound that here.
    own = await startTestService({ watchHeartbeatInterval: '200ms' });
    const running = own;
    const bearer = await running.keys.mint();
    const openStreams = async (): Promise<number> =>
      total(parseMetrics(await (await fetch(`${running.metricsUrl}/metrics`)).text()), 'watch_streams_open');
    // Each client goes after 0 to 19 ms: some before their request is answered, some once it is.
    await Promise.all(
      Array.from({ length: 60 }, (_, n) => {
        const outgoing = request(`${running.apiUrl}${collection}?watch=true`, {
          headers: { authorization: `Bearer ${bearer}` },
        });
        outgoing.on('error', () => {});
        outgoing.end();
        return new Promise<void>((resolve) =>
          setTimeout(() => {
            outgoing.destroy();
            resolve();
          }, n % 20),
        );
      }),
    );
    // A request still on its way may open its stream late, and lose it at its first heartbeat: none is
    // open, and none stays open, once a whole second passes with none.
    const deadline = Date.now() + 10_000;
    let noneSince: number | undefined;
    while (Date.now() < deadline && (noneSince === undefined || Date.now() - noneSince < 1000)) {
      noneSince = (await openStreams()) === 0 ? (noneSince ?? Date.now()) : undefined;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(noneSince !== undefined && Date.now() - noneSince >= 1000, 'no stream open for a second').toBe(
      true,
    );
    expect(await openStreams()).toBe(0);
  });

  it('sends comment heartbeats on an idle stream', async () => {
    own = await startTestService({ watchHeartbeatInterval: '200ms' });
    const stream = await watch('', {}, own);
    await stream.waitUntil(
      () => stream.comments.filter((comment) => comment.includes('heartbeat')).length >= 3,
      'three heartbeats',
      15_000,
    );
    expect(stream.messages).toEqual([]);
    expect(stream.ended).toBe(false);
  });

  it('ends open streams on stop, and stops promptly', async () => {
    own = await startTestService();
    const running = own;
    const stream = await watch('', {}, running);
    const idle = await watch('', {}, running);
    await create(unique('Stoposaurus'), running);
    await stream.waitForMessages(1);

    const started = Date.now();
    own = undefined;
    await running.stop();
    expect(Date.now() - started).toBeLessThan(10_000);
    await stream.waitForEnd(5_000);
    await idle.waitForEnd(5_000);
  }, 30_000);
});

// A create whose transaction is still open when a watch opens (so it commits after), with another
// create committed in between, before the watch opened.
async function watchAcrossAnOpenTransaction() {
  const client = new pg.Client(service.database.url);
  await client.connect();
  try {
    const id = KSUID.randomSync().string;
    const eventId = KSUID.randomSync().string;
    await client.query('begin');
    await client.query(
      `insert into dinosaurs (id, species, created_at, updated_at) values ($1, $2, now(), now())`,
      [id, unique('Inflightosaurus')],
    );
    await client.query(
      `insert into events (id, source, source_id, event_type) values ($1, 'Dinosaurs', $2, 'Create')`,
      [eventId, id],
    );
    const earlier = await create(unique('Earlierosaurus'));
    const stream = await watch();
    await client.query('commit');
    const later = await create(unique('Laterosaurus'));
    return { inFlight: { id, eventId }, earlier, stream, later };
  } finally {
    await client.end();
  }
}
