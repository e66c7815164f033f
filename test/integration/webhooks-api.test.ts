import { describe, expect, it } from 'vitest';
import { developmentSecretKeyFile, readSecretKeys } from '../../src/kinds/webhooks/secret-keys.ts';
import { expectError } from '../support/expectations.ts';
import { validWebhook } from '../support/factories/webhooks.ts';
import { serviceForFile, startTestService } from '../support/service.ts';

const apiBase = '/api/rh-trex/v1';
const collection = `${apiBase}/webhooks`;

// `*.invalid` names never resolve (RFC 6761): an allowed host that is unreachable.
const service = serviceForFile({ webhookAllowedHosts: '127.0.0.1,localhost:8443,*.invalid' });

async function counts(): Promise<{ webhooks: number; events: number }> {
  const [row] = await service.database.query<{ webhooks: number; events: number }>(
    'select (select count(*) from webhooks)::int as webhooks, (select count(*) from events)::int as events',
  );
  if (!row) throw new Error('no counts');
  return row;
}

describe('webhook input: every mistake is a 400 with the documented Error body at creation', () => {
  const badUrls: [string, string | RegExp][] = [
    ['not a url', "url 'not a url' is not a valid absolute URL"],
    ['/relative/path', "url '/relative/path' is not a valid absolute URL"],
    ['ftp://127.0.0.1/hooks', "url must use http or https, not 'ftp'"],
    ['file:///etc/passwd', "url must use http or https, not 'file'"],
    ['javascript:alert(1)', "url must use http or https, not 'javascript'"],
    ['http://user:pass@127.0.0.1/hooks', 'url must not contain credentials'],
    ['http://10.0.0.1/hooks', "url host '10.0.0.1' is not among the allowed webhook hosts"],
    ['http://169.254.169.254/latest/meta-data', /^url host '169\.254\.169\.254' is not among/],
    ['http://localhost/hooks', "url host 'localhost' is not among the allowed webhook hosts"],
    ['http://localhost:8080/hooks', "url host 'localhost:8080' is not among the allowed webhook hosts"],
    ['http://[::1]/hooks', "url host '[::1]' is not among the allowed webhook hosts"],
    ['http://127.0.0.1.nip.io/hooks', /^url host '127\.0\.0\.1\.nip\.io' is not among/],
    ['http://nothing-here.invalid/hooks', "url host 'nothing-here.invalid' cannot be resolved"],
  ];
  for (const [url, reason] of badUrls) {
    it(`url ${url}: 400 code 8, on POST and PATCH`, async () => {
      const created = await service.api(collection, { method: 'POST', body: validWebhook() });
      expect(created.status, created.text).toBe(201);
      const before = await counts();
      expectError(
        await service.api(collection, { method: 'POST', body: { ...validWebhook(), url } }),
        400,
        8,
        reason,
      );
      expectError(
        await service.api(`${collection}/${created.body.id}`, { method: 'PATCH', body: { url } }),
        400,
        8,
        reason,
      );
      expect(await counts()).toEqual(before);
      expect((await service.api(`${collection}/${created.body.id}`)).body).toEqual(created.body);
    });
  }

  it('accepts allowed hosts: any port of a bare host, the named port of host:port', async () => {
    for (const url of ['http://127.0.0.1/a', 'https://127.0.0.1:9443/b', 'https://localhost:8443/c']) {
      const response = await service.api(collection, { method: 'POST', body: { ...validWebhook(), url } });
      expect(response.status, `${url}: ${response.text}`).toBe(201);
      expect(response.body.url).toBe(url);
      const moved = `${url}/moved`;
      const patched = await service.api(`${collection}/${response.body.id}`, {
        method: 'PATCH',
        body: { url: moved },
      });
      expect(patched.status, patched.text).toBe(200);
      expect(patched.body.url).toBe(moved);
    }
  });

  const badFilters: [Record<string, unknown>, number, string | RegExp][] = [
    [{ sources: 'Rockets' }, 8, "sources: 'Rockets' is not one of 'Dinosaurs', 'Fossils', 'Webhooks'"],
    [{ sources: 'Dinosaurs,' }, 8, "sources: '' is not one of 'Dinosaurs', 'Fossils', 'Webhooks'"],
    [{ sources: 'dinosaurs' }, 8, "sources: 'dinosaurs' is not one of 'Dinosaurs', 'Fossils', 'Webhooks'"],
    [{ event_types: 'Create,Upsert' }, 8, "event_types: 'Upsert' is not one of 'Create', 'Update', 'Delete'"],
    [{ search: "species = 'unterminated" }, 21, /^Failed to parse search query: species = 'unterminated/],
    [{ search: 'species like' }, 21, /^Failed to parse search query: species like/],
    [
      { search: "no_such_field = 'x'" },
      21,
      "Invalid search query: unknown field 'no_such_field' at position 0",
    ],
    [
      { sources: 'Webhooks', search: "species = 'x'" },
      21,
      "Invalid search query: unknown field 'species' at position 0",
    ],
    [{ search: "created_at > 'yesterday'" }, 21, /^Invalid search query: /],
  ];
  for (const [fields, code, reason] of badFilters) {
    it(`filter ${JSON.stringify(fields)}: 400 code ${code}, on POST and PATCH`, async () => {
      const created = await service.api(collection, { method: 'POST', body: validWebhook() });
      expect(created.status, created.text).toBe(201);
      const before = await counts();
      expectError(
        await service.api(collection, { method: 'POST', body: { ...validWebhook(), ...fields } }),
        400,
        code,
        reason,
      );
      expectError(
        await service.api(`${collection}/${created.body.id}`, { method: 'PATCH', body: fields }),
        400,
        code,
        reason,
      );
      expect(await counts()).toEqual(before);
    });
  }

  it('a search meaningful for one of the sources it covers is accepted', async () => {
    const body = { ...validWebhook(), sources: null, search: "species like 'T%'" };
    const response = await service.api(collection, { method: 'POST', body });
    expect(response.status, response.text).toBe(201);
    expect(response.body.search).toBe(body.search);
  });

  it('with no allowed hosts configured, no webhook can be created', async () => {
    const closed = await startTestService();
    try {
      expectError(
        await closed.api(collection, { method: 'POST', body: validWebhook() }),
        400,
        8,
        'url cannot be used: no webhook targets are allowed (the operator sets --webhook-allowed-hosts)',
      );
    } finally {
      await closed.stop();
    }
  });
});

describe('webhook secrets are write-only', () => {
  it('are stored, and never returned by POST, GET, PATCH, lists, events or the OpenAPI resource', async () => {
    const body = validWebhook();
    const created = await service.api(collection, { method: 'POST', body });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const changed = await service.api(`${collection}/${id}`, {
      method: 'PATCH',
      body: { secret: 'rotated' },
    });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body.updated_at > created.body.updated_at).toBe(true);
    // Stored sealed with the development key (docs/webhooks.md#secrets-at-rest).
    const [row] = await service.database.query('select secret from webhooks where id = $1', [id]);
    expect(row?.secret).not.toContain('rotated');
    expect(readSecretKeys(developmentSecretKeyFile).open(row?.secret)).toBe('rotated');
    const responses = [
      created,
      changed,
      await service.api(`${collection}/${id}`),
      await service.api(`${collection}?${new URLSearchParams({ search: `id = '${id}'` })}`),
      await service.api(`${apiBase}/events?${new URLSearchParams({ search: `source_id = '${id}'` })}`),
    ];
    for (const response of responses) {
      expect(response.status).toBeLessThan(300);
      expect(response.text).not.toContain(String(body.secret));
      expect(response.text).not.toContain('rotated');
      expect(response.text).not.toContain('"secret"');
    }
    const events = await service.database.query(
      'select object::text as object from events where source_id = $1',
      [id],
    );
    expect(events).toHaveLength(2);
    for (const event of events) expect(event.object).not.toContain('secret');
    const openapi = (await service.api(`${apiBase}/openapi`)).body;
    expect(openapi.components.schemas.Webhook.properties).not.toHaveProperty('secret');
    expect(openapi.components.schemas.WebhookCreateRequest.properties.secret.writeOnly).toBe(true);
  });

  it('cannot be searched, ordered by or picked with fields', async () => {
    expectError(await service.api(`${collection}?search=${encodeURIComponent("secret = 'x'")}`), 400, 21);
    expectError(await service.api(`${collection}?orderBy=secret`), 400, 21, "bad order value 'secret'");
    expectError(await service.api(`${collection}?fields=secret`), 400, 8, /'secret'/);
  });
});

describe('the deliveries sub-collection', () => {
  it('of an unknown or deleted webhook is 404 code 7', async () => {
    expectError(
      await service.api(`${collection}/no-such-id/deliveries`),
      404,
      7,
      "Webhook with id='no-such-id' not found",
    );
    const created = await service.api(collection, { method: 'POST', body: validWebhook() });
    expect((await service.api(`${collection}/${created.body.id}`, { method: 'DELETE' })).status).toBe(204);
    expectError(await service.api(`${collection}/${created.body.id}/deliveries`), 404, 7);
    expectError(await service.api(`${collection}/${created.body.id}/deliveries/x`), 404, 7);
  });

  it('lists with the list semantics (empty, paging, bad parameters) and is read-only', async () => {
    const created = await service.api(collection, { method: 'POST', body: validWebhook() });
    const path = `${collection}/${created.body.id}/deliveries`;
    const empty = await service.api(path);
    expect(empty.body).toEqual({ kind: 'WebhookDeliveryList', page: 1, size: 0, total: 0, items: [] });
    expectError(await service.api(`${path}?page=0`), 400, 21);
    expectError(await service.api(`${path}?size=-1`), 400, 21);
    expectError(await service.api(`${path}?search=${encodeURIComponent("status = 'x")}`), 400, 21);
    expectError(await service.api(`${path}?orderBy=payload`), 400, 21, "bad order value 'payload'");
    expectError(await service.api(`${path}?fields=payload`), 400, 8);
    expectError(
      await service.api(`${path}/no-such-delivery`),
      404,
      7,
      "WebhookDelivery with id='no-such-delivery' not found",
    );
    for (const method of ['POST', 'PATCH', 'DELETE', 'PUT']) {
      const response = await service.api(path, { method, body: {} });
      expectError(response, 405, 10);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
    }
  });
});
