// The list endpoint's envelope, paging, default order, soft-delete filtering and parameter checking
// (docs/api.md#lists; docs/errors.md for the error bodies).
import { beforeEach, describe, expect, it } from 'vitest';
import { expectError } from '../support/expectations.ts';
import { serviceForFile } from '../support/service.ts';

const collection = '/api/rh-trex/v1/dinosaurs';

const service = serviceForFile();
// Every test states the rows it lists.
beforeEach(async () => {
  await service.database.query('delete from dinosaurs');
});

interface Row {
  id: string;
  created_at: string; // ISO, millisecond precision, UTC
  deleted_at?: string | null;
}

// Rows written straight to the table, so created_at (and ties in it) are under the test's control.
async function insertRows(rows: readonly Row[]): Promise<void> {
  await service.database.query(
    `insert into dinosaurs (id, species, created_at, updated_at, deleted_at)
     select id, 'species of ' || id, created_at, created_at, deleted_at
     from unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) as t(id, created_at, deleted_at)`,
    [rows.map((row) => row.id), rows.map((row) => row.created_at), rows.map((row) => row.deleted_at ?? null)],
  );
}

// How the API presents a row inserted by insertRows.
function presented(row: Row) {
  return {
    id: row.id,
    kind: 'Dinosaur',
    href: `${collection}/${row.id}`,
    species: `species of ${row.id}`,
    created_at: row.created_at,
    updated_at: row.created_at,
  };
}

const base = Date.parse('2030-01-01T00:00:00.000Z');
const at = (milliseconds: number): string => new Date(base + milliseconds).toISOString();

// `count` rows, ids row-00000.., one second apart, oldest first.
function sequentialRows(count: number): Row[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `row-${String(index).padStart(5, '0')}`,
    created_at: at(index * 1000),
  }));
}

async function list(query = '', headers: Record<string, string> = {}) {
  const response = await service.api(`${collection}${query}`, { headers });
  expect(response.status, `GET ${query}: ${response.text}`).toBe(200);
  return response.body;
}

const ids = (items: { id: string }[]): string[] => items.map((item) => item.id);

describe('the DinosaurList envelope', () => {
  it('lists nothing as an empty page with total 0', async () => {
    const response = await service.api(collection);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json(;|$)/);
    expect(response.body).toEqual({ kind: 'DinosaurList', page: 1, size: 0, total: 0, items: [] });
  });

  it('defaults to page 1 and size 100', async () => {
    const rows = sequentialRows(105);
    await insertRows(rows);
    const body = await list();
    expect(Object.keys(body).sort()).toEqual(['items', 'kind', 'page', 'size', 'total']);
    expect(body).toMatchObject({ kind: 'DinosaurList', page: 1, size: 100, total: 105 });
    expect(body.items).toEqual(rows.slice(0, 100).map(presented));

    const second = await list('?page=2');
    expect(second).toEqual({
      kind: 'DinosaurList',
      page: 2,
      size: 5,
      total: 105,
      items: rows.slice(100).map(presented),
    });
  });

  it('presents each item exactly as GET and POST do', async () => {
    const created = [];
    for (const species of ['Alpha', 'Beta', 'Gamma']) {
      const response = await service.api(collection, { method: 'POST', body: { species } });
      expect(response.status).toBe(201);
      created.push(response.body);
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    const body = await list();
    expect(body.items).toEqual(created);
    for (const item of body.items) {
      expect((await service.api(`${collection}/${item.id}`)).body).toEqual(item);
    }
  });
});

describe('paging', () => {
  it('pages through 25 rows created through the API, 10 at a time, with no duplicates or gaps', async () => {
    const created: { id: string }[] = [];
    for (let index = 0; index < 25; index++) {
      const response = await service.api(collection, { method: 'POST', body: { species: `Pager ${index}` } });
      expect(response.status).toBe(201);
      created.push(response.body);
      // Distinct created_at values, so creation order is the expected list order.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }

    const pages = [];
    for (const page of [1, 2, 3]) pages.push(await list(`?page=${page}&size=10`));
    expect(pages.map((page) => [page.kind, page.page, page.size, page.total, page.items.length])).toEqual([
      ['DinosaurList', 1, 10, 25, 10],
      ['DinosaurList', 2, 10, 25, 10],
      ['DinosaurList', 3, 5, 25, 5],
    ]);
    const seen = pages.flatMap((page) => ids(page.items));
    expect(new Set(seen).size).toBe(25);
    expect(seen).toEqual(ids(created));
    expect(pages.flatMap((page) => page.items)).toEqual(created);

    expect(await list('?page=4&size=10')).toEqual({
      kind: 'DinosaurList',
      page: 4,
      size: 0,
      total: 25,
      items: [],
    });
  });

  it('answers a page past the end with no items, size 0 and the real total', async () => {
    await insertRows(sequentialRows(7));
    for (const query of ['?page=2&size=7', '?page=3&size=5', '?page=2', '?page=1000000']) {
      const page = Number(new URLSearchParams(query).get('page'));
      expect(await list(query), query).toEqual({ kind: 'DinosaurList', page, size: 0, total: 7, items: [] });
    }
  });

  it('answers a page number far past the end (but a safe integer) with an empty page', async () => {
    await insertRows(sequentialRows(3));
    for (const page of [10 ** 15, Number.MAX_SAFE_INTEGER]) {
      for (const query of [`?page=${page}`, `?page=${page}&size=65500`, `?page=${page}&size=1`]) {
        expect(await list(query), query).toEqual({
          kind: 'DinosaurList',
          page,
          size: 0,
          total: 3,
          items: [],
        });
      }
    }
  });

  it('answers size=0 with no items but the total', async () => {
    await insertRows(sequentialRows(4));
    for (const [query, page] of [
      ['?size=0', 1],
      ['?size=0&page=1', 1],
      ['?size=0&page=3', 3],
    ] as const) {
      expect(await list(query), query).toEqual({ kind: 'DinosaurList', page, size: 0, total: 4, items: [] });
    }
  });

  it('returns fewer items than asked for when fewer rows remain', async () => {
    const rows = sequentialRows(3);
    await insertRows(rows);
    expect(await list('?size=65500')).toEqual({
      kind: 'DinosaurList',
      page: 1,
      size: 3,
      total: 3,
      items: rows.map(presented),
    });
    expect(await list('?page=2&size=2')).toEqual({
      kind: 'DinosaurList',
      page: 2,
      size: 1,
      total: 3,
      items: [presented(rows[2] as Row)],
    });
  });

  it('clamps a size above 65500 to 65500, for the items and for the offset of later pages', async () => {
    // 65,600 rows, ids bulk-00000.. one millisecond apart.
    await service.database.query(
      `insert into dinosaurs (id, species, created_at, updated_at)
       select 'bulk-' || lpad(n::text, 5, '0'), 'Bulk', $1::timestamptz + n * interval '1 millisecond',
              $1::timestamptz + n * interval '1 millisecond'
       from generate_series(0, 65599) as n`,
      [at(0)],
    );
    // Past --exact-count-limit (10,000): the totals are asked exact (docs/api.md#totals).
    const exactly = { prefer: 'count=exact' };
    const first = await list('?size=65501', exactly);
    expect([first.page, first.size, first.total, first.items.length]).toEqual([1, 65500, 65600, 65500]);
    expect(first.items[0].id).toBe('bulk-00000');
    expect(first.items[65499].id).toBe('bulk-65499');

    const exact = await list('?size=65500', exactly);
    expect([exact.size, exact.total]).toEqual([65500, 65600]);

    // Page 2 of 65,500-item pages starts at row 65,500, whatever larger size was asked for.
    const second = await list('?page=2&size=1000000', exactly);
    expect([second.page, second.size, second.total]).toEqual([2, 100, 65600]);
    expect(second.items[0].id).toBe('bulk-65500');
    expect(second.items[99].id).toBe('bulk-65599');
  });

  it('clamps a size too large for a JavaScript number instead of rejecting it', async () => {
    const rows = sequentialRows(3);
    await insertRows(rows);
    for (const size of ['9007199254740993', '100000000000000000000']) {
      const response = await service.api(`${collection}?size=${size}`);
      expect(response.status, `size=${size}: ${response.text}`).toBe(200);
      expect(response.body).toEqual({
        kind: 'DinosaurList',
        page: 1,
        size: 3,
        total: 3,
        items: rows.map(presented),
      });
    }
  });
});

describe('default order: created_at asc, then id asc', () => {
  // Inserted out of order, with ties in created_at; the expected order is m, a, b, z, n, c, x, y.
  const scrambled: Row[] = [
    { id: 'c', created_at: at(3000) },
    { id: 'y', created_at: at(4000) },
    { id: 'b', created_at: at(1000) },
    { id: 'z', created_at: at(1000) },
    { id: 'n', created_at: at(1001) },
    { id: 'm', created_at: at(0) },
    { id: 'x', created_at: at(4000) },
    { id: 'a', created_at: at(1000) },
  ];
  const expectedOrder = ['m', 'a', 'b', 'z', 'n', 'c', 'x', 'y'];

  it('orders by created_at, breaking ties by id, whatever the insertion order', async () => {
    await insertRows(scrambled);
    const body = await list();
    expect(ids(body.items)).toEqual(expectedOrder);
    const byId = new Map(scrambled.map((row) => [row.id, row]));
    expect(body.items).toEqual(expectedOrder.map((id) => presented(byId.get(id) as Row)));
  });

  it('keeps that order stable across page boundaries that split rows with equal created_at', async () => {
    await insertRows(scrambled);
    for (const size of [1, 2, 3]) {
      const seen: string[] = [];
      for (let page = 1; page <= Math.ceil(scrambled.length / size); page++) {
        const body = await list(`?page=${page}&size=${size}`);
        expect(body.total).toBe(scrambled.length);
        seen.push(...ids(body.items));
      }
      expect(seen, `size ${size}`).toEqual(expectedOrder);
    }
  });

  it('orders ids that share a created_at by id, not by insertion', async () => {
    const tied = ['t-09', 't-03', 't-07', 't-01', 't-05', 't-02', 't-08', 't-04', 't-06'];
    await insertRows(tied.map((id) => ({ id, created_at: at(500) })));
    expect(ids((await list()).items)).toEqual([...tied].sort());
    expect(ids((await list('?page=2&size=4')).items)).toEqual(['t-05', 't-06', 't-07', 't-08']);
  });
});

describe('empty parameters mean "not given"', () => {
  it('treats ?page=&size=&search=&orderBy=&fields= as no parameters', async () => {
    const rows = sequentialRows(105);
    await insertRows(rows);
    const plain = await list();
    expect(plain.size).toBe(100);
    expect(await list('?page=&size=&search=&orderBy=&fields=')).toEqual(plain);
    for (const name of ['page', 'size', 'search', 'orderBy', 'fields']) {
      expect(await list(`?${name}=`), name).toEqual(plain);
    }
    // An empty parameter next to a given one.
    expect(await list('?page=2&size=&search=')).toEqual({
      kind: 'DinosaurList',
      page: 2,
      size: 5,
      total: 105,
      items: rows.slice(100).map(presented),
    });
  });
});

describe('bad paging parameters: 400 code 21', () => {
  it.each(['0', '-1', 'abc', '1.5', '1e1', '0x10', '1abc', '-0'])('page=%s', async (value) => {
    const response = await service.api(`${collection}?page=${encodeURIComponent(value)}`);
    expectError(response, 400, 21, /page/);
  });

  it.each(['-1', 'abc', '1.5', '1e1', '0x10', '10abc', '-5'])('size=%s', async (value) => {
    const response = await service.api(`${collection}?size=${encodeURIComponent(value)}`);
    expectError(response, 400, 21, /size/);
  });

  it.each(['page=1&page=2', 'page=1&page=1', 'size=10&size=20', 'page=2&size=5&page=3'])(
    'a repeated parameter: %s',
    async (query) => {
      expectError(await service.api(`${collection}?${query}`), 400, 21);
    },
  );
});

describe('soft-deleted rows', () => {
  it('never appear in any page and are not counted', async () => {
    const rows: Row[] = sequentialRows(10).map((row, index) => ({
      ...row,
      deleted_at: index % 2 === 1 ? at(60_000) : null,
    }));
    await insertRows(rows);
    // One more live row deleted through the API.
    const doomed = rows[4] as Row;
    expect((await service.api(`${collection}/${doomed.id}`, { method: 'DELETE' })).status).toBe(204);
    const live = rows.filter((row, index) => index % 2 === 0 && row !== doomed);
    expect(live).toHaveLength(4);

    expect(await list()).toEqual({
      kind: 'DinosaurList',
      page: 1,
      size: 4,
      total: 4,
      items: live.map(presented),
    });
    const seen: string[] = [];
    for (let page = 1; page <= 4; page++) {
      const body = await list(`?page=${page}&size=1`);
      expect([body.page, body.size, body.total]).toEqual([page, 1, 4]);
      seen.push(...ids(body.items));
    }
    expect(seen).toEqual(ids(live));
    expect(await list('?page=5&size=1')).toEqual({
      kind: 'DinosaurList',
      page: 5,
      size: 0,
      total: 4,
      items: [],
    });
    expect((await list('?size=0')).total).toBe(4);
  });

  it('lists nothing, with total 0, when every row is deleted', async () => {
    await insertRows(sequentialRows(3).map((row) => ({ ...row, deleted_at: at(99_000) })));
    expect(await list()).toEqual({ kind: 'DinosaurList', page: 1, size: 0, total: 0, items: [] });
  });
});
