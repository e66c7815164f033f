import { beforeAll, describe, expect, it } from 'vitest';
import { fileForFile } from '../support/for-file.ts';
import { receiverForFile } from '../support/receiver.ts';
import { type ApiInit, type ApiResponse, serviceForFile } from '../support/service.ts';

// Every path that reaches a Kind other than its route's checks the caller's access to that Kind
// (docs/auth.md#what-each-path-checks). The policy: `boss` may do anything, `guest` may use Fossils,
// Webhooks and Events, and `keeper` only Dinosaurs.
const policyFile = fileForFile(
  'policy.yaml',
  `
- claim: username
  pattern: boss
  kinds: ["*"]
  verbs: ["*"]
- claim: username
  pattern: guest
  kinds: [Fossil, Webhook, Event]
  verbs: ["*"]
- claim: username
  pattern: keeper
  kinds: [Dinosaur]
  verbs: ["*"]
`,
);

const receiver = receiverForFile();
const service = serviceForFile({
  enableAuthz: 'true',
  authzPolicyFile: policyFile,
  webhookAllowedHosts: '127.0.0.1',
});

const apiBase = '/api/rh-trex/v1';
let boss: string;
let guest: string;
let secret: { id: string };
let fossil: { id: string };
beforeAll(async () => {
  boss = await service.keys.mint({ username: 'boss' });
  guest = await service.keys.mint({ username: 'guest' });
  secret = (await as(boss, '/dinosaurs', { method: 'POST', body: { species: 'Secretosaurus' } })).body;
  fossil = (await as(boss, '/fossils', { method: 'POST', body: { site: 'Quarry', dinosaur_id: secret.id } }))
    .body;
});

function as(token: string, path: string, init: ApiInit = {}): Promise<ApiResponse> {
  return service.api(`${apiBase}${path}`, { ...init, token });
}

function expectForbidden(response: ApiResponse, kind: string): void {
  expect(response.status, response.text).toBe(403);
  expect(response.body).toMatchObject({ kind: 'Error', id: '4', code: 'rh-trex-4' });
  expect(response.body.reason).toContain(`may not list ${kind}`);
}

// The parts of an answer that may differ from one request to another whatever the data: its own id.
function comparable(response: ApiResponse): unknown {
  const { operation_id: _operationId, ...body } = response.body as Record<string, unknown>;
  return { status: response.status, body };
}

describe('a list or watch through a relation needs list on the related Kind', () => {
  const reaching = [
    'fields=id,site,dinosaur.species',
    `search=${encodeURIComponent("dinosaur.species = 'Secretosaurus'")}`,
    `search=${encodeURIComponent("dinosaur.species = 'Nonexistentosaurus'")}`,
    'orderBy=dinosaur.species',
  ];

  it.each(reaching)('%s: 403 naming Dinosaur for a guest, 200 for boss', async (query) => {
    expectForbidden(await as(guest, `/fossils?${query}`), 'Dinosaur');
    expect((await as(boss, `/fossils?${query}`)).status).toBe(200);
  });

  it('answers an existing value and a missing one alike', async () => {
    const [existing, missing] = await Promise.all(
      ['Secretosaurus', 'Nonexistentosaurus'].map((species) =>
        as(guest, `/fossils?search=${encodeURIComponent(`dinosaur.species = '${species}'`)}`),
      ),
    );
    expect(comparable(existing as ApiResponse)).toEqual(comparable(missing as ApiResponse));
  });

  it('refuses a watch whose search goes through the relation, before streaming', async () => {
    const search = encodeURIComponent("dinosaur.species = 'Secretosaurus'");
    expectForbidden(await as(guest, `/fossils?watch=true&search=${search}`), 'Dinosaur');
  });

  it("keeps a guest's own fields and the relation's link open", async () => {
    const response = await as(guest, `/fossils?search=${encodeURIComponent(`dinosaur_id = '${secret.id}'`)}`);
    expect(response.status).toBe(200);
    expect(response.body.items).toEqual([
      expect.objectContaining({ id: fossil.id, dinosaur: expect.objectContaining({ id: secret.id }) }),
    ]);
  });
});

describe('writing a reference needs get on the referenced Kind', () => {
  it('refuses a guest alike for an existing and a missing target', async () => {
    const [existing, missing] = await Promise.all(
      [secret.id, '2Qh0MxL7Tq4kJz1cXo9bV3nWdEa'].map((id) =>
        as(guest, '/fossils', { method: 'POST', body: { site: 'Pit', dinosaur_id: id } }),
      ),
    );
    expect(existing?.status).toBe(403);
    expect(existing?.body.reason).toBe("Account 'guest' may not get Dinosaur, which dinosaur_id references");
    expect(comparable(existing as ApiResponse)).toEqual(comparable(missing as ApiResponse));
    expect((await as(guest, '/fossils', { method: 'POST', body: { site: 'Pit' } })).status).toBe(201);
  });
});

describe("a webhook's sources and search need its writer's list on each Kind they reach", () => {
  const hook = (changes: Record<string, unknown>) => ({
    name: 'watcher',
    url: `${receiver.url}/guest`,
    secret: 's3cret',
    enabled: true,
    ...changes,
  });

  it('refuses a guest subscribing to Dinosaurs, directly or through a search', async () => {
    expectForbidden(
      await as(guest, '/webhooks', { method: 'POST', body: hook({ sources: 'Dinosaurs' }) }),
      'Dinosaur',
    );
    const search = hook({ sources: 'Fossils', search: "dinosaur.species = 'Secretosaurus'" });
    expectForbidden(await as(guest, '/webhooks', { method: 'POST', body: search }), 'Dinosaur');
    const created = await as(guest, '/webhooks', { method: 'POST', body: hook({ sources: 'Fossils' }) });
    expect(created.status).toBe(201);
    const widened = await as(guest, `/webhooks/${created.body.id}`, {
      method: 'PATCH',
      body: { sources: 'Fossils,Dinosaurs' },
    });
    expectForbidden(widened, 'Dinosaur');
  });

  it("refuses a guest taking over boss's Dinosaur webhook, even to rename it", async () => {
    const created = await as(boss, '/webhooks', { method: 'POST', body: hook({ sources: 'Dinosaurs' }) });
    expect(created.status).toBe(201);
    expectForbidden(
      await as(guest, `/webhooks/${created.body.id}`, { method: 'PATCH', body: { name: 'mine now' } }),
      'Dinosaur',
    );
  });

  it("fans out only what the webhook's owner may list, decided at each event", async () => {
    // Two webhooks for every source: one boss owns, one a guest owns.
    const bossHook = await as(boss, '/webhooks', {
      method: 'POST',
      body: hook({ url: `${receiver.url}/boss-all`, sources: null }),
    });
    const guestHook = await as(guest, '/webhooks', {
      method: 'POST',
      body: hook({ url: `${receiver.url}/guest-all`, sources: null }),
    });
    expect([bossHook.status, guestHook.status]).toEqual([201, 201]);
    const dinosaur = await as(boss, '/dinosaurs', { method: 'POST', body: { species: 'Hiddenosaurus' } });
    const found = await as(guest, '/fossils', { method: 'POST', body: { site: 'Cliff' } });
    const delivered = (path: string, id: string) =>
      receiver.requests.some((request) => request.path === path && request.body.includes(id));
    await receiver.waitUntil(
      () => delivered('/boss-all', dinosaur.body.id) && delivered('/guest-all', found.body.id),
      "both webhooks' deliveries",
    );
    // The dinosaur's fan-out is done (boss received it): the guest's webhook got no delivery of it.
    const [{ count } = { count: '' }] = await service.database.query<{ count: string }>(
      'select count(*) from webhook_deliveries where webhook_id = $1 and source = $2',
      [guestHook.body.id, 'Dinosaurs'],
    );
    expect(count).toBe('0');

    // A guest who becomes the owner of boss's webhook (renaming it: every source, so nothing refused)
    // stops it receiving dinosaurs from the next event on.
    const renamed = await as(guest, `/webhooks/${bossHook.body.id}`, {
      method: 'PATCH',
      body: { name: 'taken' },
    });
    expect(renamed.status).toBe(200);
    const later = await as(boss, '/dinosaurs', { method: 'POST', body: { species: 'Laterosaurus' } });
    const marker = await as(guest, '/fossils', { method: 'POST', body: { site: 'Marker' } });
    await receiver.waitUntil(() => delivered('/boss-all', marker.body.id), 'the marker fossil');
    const [{ laterCount } = { laterCount: '' }] = await service.database.query<{ laterCount: string }>(
      'select count(*) as "laterCount" from webhook_deliveries where webhook_id = $1 and source_id = $2',
      [bossHook.body.id, later.body.id],
    );
    expect(laterCount).toBe('0');
  });

  it('shows a guest only the deliveries of Kinds the guest may list', async () => {
    const { body: hooks } = await as(boss, `/webhooks?search=${encodeURIComponent("name = 'taken'")}`);
    const id = hooks.items[0]?.id as string;
    const all = await as(boss, `/webhooks/${id}/deliveries?size=100`);
    const visible = await as(guest, `/webhooks/${id}/deliveries?size=100`);
    expect(all.body.items.some((item: { source: string }) => item.source === 'Dinosaurs')).toBe(true);
    expect(visible.status).toBe(200);
    expect(visible.body.items.map((item: { source: string }) => item.source)).not.toContain('Dinosaurs');
    const hidden = all.body.items.find((item: { source: string }) => item.source === 'Dinosaurs');
    const missing = await as(guest, `/webhooks/${id}/deliveries/2Qh0MxL7Tq4kJz1cXo9bV3nWdEa`);
    const denied = await as(guest, `/webhooks/${id}/deliveries/${hidden.id}`);
    expect(denied.status).toBe(404);
    expect(denied.body.reason.replace(hidden.id, 'ID')).toBe(
      missing.body.reason.replace('2Qh0MxL7Tq4kJz1cXo9bV3nWdEa', 'ID'),
    );
  });
});

describe('the events API shows only events of Kinds the caller may list', () => {
  it('lists, searches and gets no Dinosaur event for a guest; boss sees them', async () => {
    const search = encodeURIComponent("source = 'Dinosaurs'");
    const forBoss = await as(boss, `/events?search=${search}`);
    expect(forBoss.body.total).toBeGreaterThan(0);
    const forGuest = await as(guest, `/events?search=${search}`);
    expect(forGuest.status).toBe(200);
    expect(forGuest.body.total).toBe(0);
    const everything = await as(guest, '/events?size=1000');
    expect(everything.body.items.map((event: { source: string }) => event.source)).not.toContain('Dinosaurs');
    expect(everything.body.total).toBe(everything.body.items.length);

    const hiddenId = forBoss.body.items[0].id as string;
    const missingId = '2Qh0MxL7Tq4kJz1cXo9bV3nWdEa';
    const hidden = await as(guest, `/events/${hiddenId}`);
    const missing = await as(guest, `/events/${missingId}`);
    expect(hidden.status).toBe(404);
    expect(hidden.body.reason.replace(hiddenId, 'ID')).toBe(missing.body.reason.replace(missingId, 'ID'));
    expect((await as(boss, `/events/${hiddenId}`)).status).toBe(200);
  });
});

describe('deleting a referenced resource', () => {
  it('tells how many referrers only to a caller who may list them', async () => {
    const told = await as(boss, `/dinosaurs/${secret.id}`, { method: 'DELETE' });
    expect(told.status).toBe(409);
    expect(told.body.reason).toMatch(
      /referenced by 1 Fossil resource \(dinosaur_id\): delete or change it first/,
    );
    const keeper = await service.keys.mint({ username: 'keeper' });
    const untold = await as(keeper, `/dinosaurs/${secret.id}`, { method: 'DELETE' });
    expect(untold.status).toBe(409);
    expect(untold.body.reason).toBe(
      `Dinosaur with id='${secret.id}' is referenced by Fossil resources (dinosaur_id): delete or change them first`,
    );
  });
});
