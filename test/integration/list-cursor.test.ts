import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createTrexClient, nextCursor } from '../../src/client/client.ts';
import { serviceForFile } from '../support/service.ts';

// Cursor paging (docs/api.md#cursors): a full page's Link header names the next page by a cursor; pages
// taken so never overlap or skip a row, whatever the order, nulls included, and rows written meanwhile
// after the cursor are seen.
const service = serviceForFile();
const apiBase = '/api/rh-trex/v1';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies whose shape the tests assert
type Json = any;

async function post(path: string, body: object): Promise<Json> {
  const response = await service.api(`${apiBase}/${path}`, { method: 'POST', body });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

// Every page from `first`, following Link headers; each page's ids.
async function pagesFrom(first: string): Promise<{ pages: string[][]; links: string[] }> {
  const pages: string[][] = [];
  const links: string[] = [];
  let path: string | undefined = first;
  while (path) {
    const response = await service.api(path);
    expect(response.status, response.text).toBe(200);
    pages.push(response.body.items.map((item: Json) => item.id));
    const link = response.headers.get('link');
    if (link) links.push(link);
    path = link ? /^<([^>]+)>; rel="next"$/.exec(link)?.[1] : undefined;
    expect(pages.length).toBeLessThan(50);
  }
  return { pages, links };
}

async function allByOffset(query: URLSearchParams, path = 'dinosaurs'): Promise<string[]> {
  const response = await service.api(`${apiBase}/${path}?${query}&size=1000`);
  expect(response.status, response.text).toBe(200);
  return response.body.items.map((item: Json) => item.id);
}

describe('cursor paging', () => {
  it('pages through a list by Link headers: the same rows in the same order as one long page', async () => {
    const tag = `c${randomBytes(4).toString('hex')}`;
    for (let index = 0; index < 7; index++) await post('dinosaurs', { species: `${tag} ${index % 3}` });
    const search = new URLSearchParams({ search: `species like '${tag}%'` });
    for (const orderBy of ['', 'species desc', 'species, created_at desc', 'updated_at desc, id desc']) {
      const query = new URLSearchParams(search);
      if (orderBy) query.set('orderBy', orderBy);
      const { pages, links } = await pagesFrom(`${apiBase}/dinosaurs?${query}&size=3&page=1`);
      expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
      expect(pages.flat()).toEqual(await allByOffset(query));
      // The next page keeps the search, the order and the size, and drops the page number.
      for (const link of links) {
        const next = new URL(/^<([^>]+)>/.exec(link)?.[1] ?? '', 'http://localhost').searchParams;
        expect(next.get('search')).toBe(search.get('search'));
        expect(next.get('size')).toBe('3');
        expect(next.get('orderBy')).toBe(orderBy || null);
        expect(next.has('page')).toBe(false);
      }
    }
  });

  it('orders nulls and relations as offset paging does, asc and desc', async () => {
    const tag = `f${randomBytes(4).toString('hex')}`;
    const dinosaurs = [
      await post('dinosaurs', { species: `${tag} a` }),
      await post('dinosaurs', { species: `${tag} b` }),
    ];
    for (let index = 0; index < 9; index++) {
      await post('fossils', {
        site: `${tag} ${index}`,
        // Every third without a dinosaur, every other without a date: nulls in both orders.
        dinosaur_id: index % 3 === 0 ? null : (dinosaurs[index % 2] as Json).id,
        discovered_at: index % 2 === 0 ? null : new Date(Date.UTC(2000, 0, 1 + (index % 4))).toISOString(),
      });
    }
    const search = `site like '${tag}%'`;
    for (const orderBy of [
      'discovered_at',
      'discovered_at desc',
      'dinosaur.species desc, discovered_at',
      'dinosaur.species',
    ]) {
      const query = new URLSearchParams({ search, orderBy });
      const { pages } = await pagesFrom(`${apiBase}/fossils?${query}&size=2`);
      expect(pages.flat(), orderBy).toEqual(await allByOffset(query, 'fossils'));
      expect(new Set(pages.flat()).size).toBe(9);
    }
  });

  it('sees rows written after the cursor, and never a row twice, while the list changes under it', async () => {
    const tag = `w${randomBytes(4).toString('hex')}`;
    for (let index = 0; index < 4; index++) await post('dinosaurs', { species: `${tag} ${index}` });
    const query = new URLSearchParams({ search: `species like '${tag}%'`, size: '2' });
    const first = await service.api(`${apiBase}/dinosaurs?${query}`);
    const next = /^<([^>]+)>/.exec(first.headers.get('link') ?? '')?.[1] as string;
    // A row deleted from the first page and two created: the cursor still follows its row.
    expect(
      (await service.api(`${apiBase}/dinosaurs/${first.body.items[0].id}`, { method: 'DELETE' })).status,
    ).toBe(204);
    const later = [
      await post('dinosaurs', { species: `${tag} 4` }),
      await post('dinosaurs', { species: `${tag} 5` }),
    ];
    const { pages } = await pagesFrom(next);
    const rest = pages.flat();
    expect(rest).toHaveLength(4);
    expect(rest.slice(2)).toEqual(later.map((row) => row.id));
    expect(rest.filter((id) => first.body.items.some((item: Json) => item.id === id))).toEqual([]);
  });

  it('pages events and a webhook-less service the same way, through the typed client', async () => {
    const tag = `e${randomBytes(4).toString('hex')}`;
    for (let index = 0; index < 5; index++) await post('dinosaurs', { species: `${tag} ${index}` });
    const api = createTrexClient({ baseUrl: service.apiUrl, token: await service.keys.mint() });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const { data, response } = await api.GET('/api/rh-trex/v1/dinosaurs', {
        params: { query: { search: `species like '${tag}%'`, size: 2, cursor } },
      });
      seen.push(...(data?.items ?? []).map((item) => item.species));
      cursor = nextCursor(response);
    } while (cursor);
    expect(seen).toEqual([0, 1, 2, 3, 4].map((index) => `${tag} ${index}`));
    const events = await pagesFrom(`${apiBase}/events?size=3&orderBy=created_at desc`);
    expect(events.pages.flat()).toEqual(
      await allByOffset(new URLSearchParams({ orderBy: 'created_at desc' }), 'events'),
    );
  });

  it('refuses a cursor that is not one of this list, or comes with a page: 400 code 21, never a 5xx', async () => {
    const tag = `b${randomBytes(4).toString('hex')}`;
    for (let index = 0; index < 3; index++) await post('dinosaurs', { species: `${tag} ${index}` });
    const first = await service.api(
      `${apiBase}/dinosaurs?search=${encodeURIComponent(`species like '${tag}%'`)}&size=1`,
    );
    const cursor = new URL(
      /^<([^>]+)>/.exec(first.headers.get('link') ?? '')?.[1] ?? '',
      'http://localhost',
    ).searchParams.get('cursor') as string;
    const forge = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const signature = 'dinosaurs.created_at asc,dinosaurs.id asc';
    const refused: [string, string, RegExp][] = [
      [`cursor=${cursor}&page=2`, 'with a page', /page and cursor cannot be combined/],
      [`cursor=${cursor}&orderBy=species`, 'of another order', /made for another orderBy/],
      ['cursor=not-a-cursor', 'garbage', /does not decode/],
      [`cursor=${forge({})}`, 'an object', /does not decode/],
      [
        `cursor=${forge([signature, 'yesterday', 'x'])}`,
        'a bad time',
        /value for dinosaurs.created_at is not time/,
      ],
      [`cursor=${forge([signature, null, 'x'])}`, 'a null where none can be', /is not time/],
      [
        `cursor=${forge([signature, '2024-01-01T00:00:00Z', 'a\u0000b'])}`,
        'a NUL',
        /dinosaurs.id is not string/,
      ],
      [`cursor=${forge([signature, '2024-01-01T00:00:00Z'])}`, 'too few values', /does not decode/],
    ];
    for (const [query, what, message] of refused) {
      const response = await service.api(`${apiBase}/dinosaurs?${query}`);
      expect(response.status, `${what}: ${response.text}`).toBe(400);
      expect(response.body.code, what).toBe('rh-trex-21');
      expect(response.body.reason, what).toMatch(message);
    }
  });
});
