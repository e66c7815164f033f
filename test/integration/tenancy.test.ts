import { beforeAll, describe, expect, it } from 'vitest';
import { newKsuid } from '../../src/values/ksuid.ts';
import { fileForFile } from '../support/for-file.ts';
import { receiverForFile } from '../support/receiver.ts';
import { type ApiInit, type ApiResponse, serviceForFile } from '../support/service.ts';
import { openSse } from '../support/sse.ts';

// The leak matrix (docs/auth.md#tenants): two tenants, A and B, with --tenant-claim org_id. For every
// operation a caller of tenant B can make with an id, the answer for a resource of tenant A is the
// answer for an id that exists nowhere: same status, same body (but for the id it names and the
// operation id), same headers. Lists, searches, relations, events, watch streams and webhooks show each
// tenant only its own rows.
const policyFile = fileForFile(
  'policy.yaml',
  `
- claim: groups
  pattern: admins
  kinds: ["*"]
  verbs: ["*"]
  allTenants: true
- claim: username
  pattern: "a-.*|b-.*"
  kinds: ["*"]
  verbs: ["*"]
- claim: username
  pattern: nodino
  kinds: [Fossil, Webhook, Event]
  verbs: ["*"]
`,
);

const receiver = receiverForFile();
const service = serviceForFile({
  tenantClaim: 'org_id',
  authzPolicyFile: policyFile,
  webhookAllowedHosts: '127.0.0.1',
});

const apiBase = '/api/rh-trex/v1';
const token: Record<'alice' | 'bob' | 'nodino' | 'admin' | 'lost' | 'aliceInB', string> = {
  alice: '',
  bob: '',
  nodino: '',
  admin: '',
  lost: '',
  aliceInB: '',
};
// What tenant A made: a dinosaur, a fossil of it, a webhook, and their events.
const a = { dinosaur: '', species: '', fossil: '', webhook: '', event: '', etag: '' };
const b = { dinosaur: '', fossil: '', webhook: '' };

function as(who: keyof typeof token, path: string, init: ApiInit = {}): Promise<ApiResponse> {
  return service.api(`${apiBase}${path}`, { ...init, token: token[who] });
}

async function created(who: keyof typeof token, path: string, body: unknown): Promise<{ id: string }> {
  const response = await as(who, path, { method: 'POST', body });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

beforeAll(async () => {
  const mint = service.keys.mint;
  token.alice = await mint({ username: 'a-alice', org_id: 'A' });
  token.bob = await mint({ username: 'b-bob', org_id: 'B' });
  token.nodino = await mint({ username: 'nodino', org_id: 'B' });
  token.admin = await mint({ username: 'root', groups: ['admins'] });
  token.lost = await mint({ username: 'a-lost' });
  token.aliceInB = await mint({ username: 'a-alice', org_id: 'B' }); // the same username, another tenant
  a.species = `Alphasaurus-${newKsuid()}`;
  const dinosaur = await as('alice', '/dinosaurs', { method: 'POST', body: { species: a.species } });
  a.dinosaur = dinosaur.body.id;
  a.etag = dinosaur.headers.get('etag') ?? '';
  a.fossil = (await created('alice', '/fossils', { site: 'A quarry', dinosaur_id: a.dinosaur })).id;
  a.webhook = (
    await created('alice', '/webhooks', {
      name: 'a',
      url: `${receiver.url}/a`,
      secret: 'sa',
      enabled: true,
    })
  ).id;
  const events = await as('alice', `/events?search=${encodeURIComponent(`source_id = '${a.dinosaur}'`)}`);
  a.event = events.body.items[0].id;
  b.dinosaur = (await created('bob', '/dinosaurs', { species: 'Betasaurus' })).id;
  b.fossil = (await created('bob', '/fossils', { site: 'B quarry', dinosaur_id: b.dinosaur })).id;
  b.webhook = (
    await created('bob', '/webhooks', { name: 'b', url: `${receiver.url}/b`, secret: 'sb', enabled: true })
  ).id;
});

const ignoredHeaders = new Set(['date', 'x-operation-id', 'keep-alive', 'connection']);

// An answer with the ids it names replaced, and without what differs between any two requests.
function comparable(response: ApiResponse, ids: readonly string[]): unknown {
  let text = response.text;
  for (const id of ids) text = text.replaceAll(id, '<id>');
  const body = text === '' ? '' : (JSON.parse(text) as Record<string, unknown>);
  if (typeof body === 'object') delete body.operation_id;
  const headers = [...response.headers.entries()].filter(([name]) => !ignoredHeaders.has(name));
  return { status: response.status, headers, body };
}

// Calls `request` with tenant A's id and with an id that exists nowhere, and expects the same answer.
async function sameAnswer(
  request: (id: string) => Promise<ApiResponse>,
  existing: string,
): Promise<ApiResponse> {
  const missing = newKsuid();
  const ofA = await request(existing);
  const nowhere = await request(missing);
  expect(comparable(ofA, [existing]), ofA.text).toEqual(comparable(nowhere, [missing]));
  return ofA;
}

describe("another tenant's resource is answered as a missing one", () => {
  const items = [
    ['Dinosaur', 'dinosaurs', () => a.dinosaur, { species: 'Changed' }],
    ['Fossil', 'fossils', () => a.fossil, { site: 'Changed' }],
    ['Webhook', 'webhooks', () => a.webhook, { name: 'changed' }],
  ] as const;

  it.each(items)(
    '%s: GET, PATCH, PATCH with If-Match, DELETE: 404 as for no such id',
    async (_kind, plural, id, change) => {
      const get = await sameAnswer((target) => as('bob', `/${plural}/${target}`), id());
      expect(get.status).toBe(404);
      await sameAnswer(
        (target) => as('bob', `/${plural}/${target}`, { method: 'PATCH', body: change }),
        id(),
      );
      await sameAnswer(
        (target) =>
          as('bob', `/${plural}/${target}`, {
            method: 'PATCH',
            body: change,
            headers: { 'if-match': a.etag },
          }),
        id(),
      );
      await sameAnswer((target) => as('bob', `/${plural}/${target}`, { method: 'DELETE' }), id());
      // Nothing of tenant A changed.
      expect((await as('alice', `/${plural}/${id()}`)).status).toBe(200);
    },
  );

  it("a webhook's deliveries: 404 as for no such webhook", async () => {
    await sameAnswer((target) => as('bob', `/webhooks/${target}/deliveries`), a.webhook);
  });

  it('an event: 404 as for no such event', async () => {
    const answer = await sameAnswer((target) => as('bob', `/events/${target}`), a.event);
    expect(answer.status).toBe(404);
    expect((await as('alice', `/events/${a.event}`)).status).toBe(200);
  });

  it('a reference to it: 400 as for no such resource', async () => {
    const answer = await sameAnswer(
      (target) => as('bob', '/fossils', { method: 'POST', body: { site: 'Borrowed', dinosaur_id: target } }),
      a.dinosaur,
    );
    expect(answer.status).toBe(400);
  });

  it('a search by its id, a field or through a relation: an empty page, as for nothing', async () => {
    const searches = [
      (value: string) => `/dinosaurs?search=${encodeURIComponent(`id = '${value}'`)}`,
      (value: string) => `/fossils?search=${encodeURIComponent(`dinosaur_id = '${value}'`)}`,
      (value: string) => `/events?search=${encodeURIComponent(`source_id = '${value}'`)}`,
    ];
    for (const search of searches) {
      const answer = await sameAnswer((target) => as('bob', search(target)), a.dinosaur);
      expect(answer.body.total).toBe(0);
    }
    const bySpecies = (species: string) =>
      as('bob', `/fossils?search=${encodeURIComponent(`dinosaur.species = '${species}'`)}`);
    const answer = await sameAnswer(bySpecies, a.species);
    expect(answer.body.total).toBe(0);
  });

  it('a watch resumed from its event: 400 as for no such event', async () => {
    const resume = async (eventId: string): Promise<ApiResponse> =>
      as('bob', '/dinosaurs?watch=true', { headers: { 'last-event-id': eventId } });
    const answer = await sameAnswer(resume, a.event);
    expect(answer.status).toBe(400);
  });

  it("a retry with tenant A's Idempotency-Key creates, as with a key never used", async () => {
    const key = `shared-${newKsuid()}`;
    const first = await as('alice', '/dinosaurs', {
      method: 'POST',
      body: { species: 'Keyed' },
      headers: { 'idempotency-key': key },
    });
    expect(first.status).toBe(201);
    for (const who of ['bob', 'aliceInB'] as const) {
      const retry = await as(who, '/dinosaurs', {
        method: 'POST',
        body: { species: 'Keyed' },
        headers: { 'idempotency-key': key },
      });
      expect(retry.status).toBe(201);
      expect(retry.body.id).not.toBe(first.body.id);
      expect((await as('bob', `/dinosaurs/${retry.body.id}`)).status).toBe(200);
    }
  });
});

describe("each tenant's lists, events, watch streams and webhooks", () => {
  it("lists and totals count only the caller's tenant, through relations too", async () => {
    for (const [plural, own] of [
      ['dinosaurs', b.dinosaur],
      ['fossils', b.fossil],
      ['webhooks', b.webhook],
    ] as const) {
      const list = await as('bob', `/${plural}?size=1000`);
      const ids = list.body.items.map((item: { id: string }) => item.id);
      expect(ids).toContain(own);
      expect(ids).not.toContain(a.dinosaur);
      expect(ids).not.toContain(a.fossil);
      expect(ids).not.toContain(a.webhook);
      expect(list.body.total).toBe(ids.length);
    }
    const embedded = await as('bob', '/fossils?fields=id,dinosaur.species&orderBy=dinosaur.species');
    expect(embedded.text).not.toContain(a.species);
    const events = await as('bob', '/events?size=1000');
    const sources = events.body.items.map((event: { source_id: string }) => event.source_id);
    expect(sources).not.toContain(a.dinosaur);
    expect(events.body.total).toBe(events.body.items.length);
  });

  it("no row links tenants: an administrator's reference to another tenant's row is refused as a missing one", async () => {
    const adminInA = await service.keys.mint({ username: 'root', groups: ['admins'], org_id: 'A' });
    const link = (dinosaurId: string) =>
      service.api(`${apiBase}/fossils`, {
        method: 'POST',
        body: { site: 'Linked', dinosaur_id: dinosaurId },
        token: adminInA,
      });
    const refused = await sameAnswer(link, b.dinosaur);
    expect(refused.status).toBe(400);
    expect((await link(a.dinosaur)).status).toBe(201);
  });

  it('an administrator sees every tenant', async () => {
    const all = await as(
      'admin',
      `/dinosaurs?search=${encodeURIComponent(`id in ('${a.dinosaur}', '${b.dinosaur}')`)}`,
    );
    expect(all.body.total).toBe(2);
    expect((await as('admin', `/events/${a.event}`)).status).toBe(200);
  });

  it('a caller whose token names no tenant may not use a tenant-scoped Kind', async () => {
    const refused = await as('lost', '/dinosaurs');
    expect(refused.status).toBe(403);
    expect(refused.body.reason).toMatch(/belongs to no tenant/);
    expect((await as('lost', '/events')).body.total).toBe(0);
  });

  it("a caller without Dinosaur access gets the same 403 for another tenant's values and none", async () => {
    const bySpecies = (species: string) =>
      as('nodino', `/fossils?search=${encodeURIComponent(`dinosaur.species = '${species}'`)}`);
    const ofA = await bySpecies(a.species);
    const nowhere = await bySpecies('Nullosaurus');
    expect(ofA.status).toBe(403);
    expect(comparable(ofA, [a.species])).toEqual(comparable(nowhere, ['Nullosaurus']));
  });

  it("a watch streams only the caller's tenant's changes", async () => {
    const stream = await openSse(`${service.apiUrl}${apiBase}/dinosaurs?watch=true`, {
      authorization: `Bearer ${token.bob}`,
    });
    try {
      const ofA = await created('alice', '/dinosaurs', { species: 'Streamed A' });
      const ofB = await created('bob', '/dinosaurs', { species: 'Streamed B' });
      await stream.waitUntil(
        () => stream.messages.some((message) => message.data.includes(ofB.id)),
        "B's change",
      );
      expect(stream.messages.some((message) => message.data.includes(ofA.id))).toBe(false);
    } finally {
      stream.close();
    }
  });

  it("a webhook receives only its tenant's events", async () => {
    const ofA = await created('alice', '/dinosaurs', { species: 'Hooked A' });
    const ofB = await created('bob', '/dinosaurs', { species: 'Hooked B' });
    const got = (path: string, id: string) =>
      receiver.requests.some((request) => request.path === path && request.body.includes(id));
    await receiver.waitUntil(() => got('/a', ofA.id) && got('/b', ofB.id), "each tenant's delivery");
    // Each event's fan-out is one transaction: once delivered to its own tenant, it went nowhere else.
    expect(got('/b', ofA.id)).toBe(false);
    expect(got('/a', ofB.id)).toBe(false);
    const bDeliveries = await as('bob', `/webhooks/${b.webhook}/deliveries?size=1000`);
    expect(bDeliveries.text).not.toContain(ofA.id);
  });
});
