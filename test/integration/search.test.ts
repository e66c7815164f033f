// The list language end to end (docs/search.md, docs/api.md#lists, docs/errors.md): search, orderBy and
// fields over real HTTP against PostgreSQL, with 20-row scenarios over bronto_1..bronto_20, combinations with
// paging, the error bodies, property tests with generated and random input, an injection corpus, and a check
// that a search on an indexed field uses its index.
import fc from 'fast-check';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { dinosaurKind } from '../../src/kinds/dinosaurs/model.ts';
import { orderKeys, readCursor } from '../../src/kinds/framework/cursor.ts';
import { KindDao } from '../../src/kinds/framework/dao.ts';
import { kindListable } from '../../src/kinds/framework/listable.ts';
import { compileSearch } from '../../src/search/compiler.ts';
import { parseOrderBy } from '../../src/search/order.ts';
import { parseSearch } from '../../src/search/parser.ts';
import { expectError } from '../support/expectations.ts';
import { type PlanNode, planOf } from '../support/query-plans.ts';
import { validDinosaurSearch } from '../support/search-arbitraries.ts';
import { type ApiResponse, serviceForFile } from '../support/service.ts';

const collection = '/api/rh-trex/v1/dinosaurs';

interface Dinosaur {
  id: string;
  kind: string;
  href: string;
  species: string;
  created_at: string;
  updated_at: string;
}

const service = serviceForFile();
// bronto_1..bronto_20, in creation order (so brontos[i] is bronto_(i+1)), each created_at distinct.
const brontos: Dinosaur[] = [];
let deleted: Dinosaur;

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

async function create(species: string): Promise<Dinosaur> {
  const response = await service.api(collection, { method: 'POST', body: { species } });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

beforeAll(async () => {
  for (let n = 1; n <= 20; n++) {
    brontos.push(await create(`bronto_${n}`));
    await sleep(3);
  }
  // A soft-deleted row that every `like 'bronto%'` search would match if deleted rows leaked.
  deleted = await create('bronto_deleted');
  expect((await service.api(`${collection}/${deleted.id}`, { method: 'DELETE' })).status).toBe(204);
});

const bronto = (n: number): Dinosaur => brontos[n - 1] as Dinosaur;

function query(params: Record<string, string | number>): string {
  return Object.entries(params)
    .map(([name, value]) => `${name}=${encodeURIComponent(String(value))}`)
    .join('&');
}

async function get(params: Record<string, string | number>): Promise<ApiResponse> {
  return await service.api(`${collection}?${query(params)}`);
}

// The DinosaurList for `params`, asserting 200. The body is read from the text even when the response
// lacks its JSON Content-Type (a test of its own checks that header), so other checks still run.
async function list(params: Record<string, string | number>) {
  const response = await get(params);
  expect(response.status, `${query(params)}: ${response.text}`).toBe(200);
  const body = response.body ?? JSON.parse(response.text);
  expect(body.kind).toBe('DinosaurList');
  return body;
}

async function total(search: string): Promise<number> {
  const body = await list({ search });
  expect(body.items).toHaveLength(body.total);
  return body.total;
}

const ids = (items: { id: string }[]): string[] => items.map((item) => item.id);
const speciesOf = (items: { species: string }[]): string[] => items.map((item) => item.species);
const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('search: scenarios of docs/search.md#the-search-language over bronto_1..bronto_20', () => {
  it('lists the 20 live rows and never the deleted one', async () => {
    const body = await list({ search: "species like 'bronto%'" });
    expect(body.total).toBe(20);
    expect(ids(body.items)).toEqual(ids(brontos));
    expect(body.items).toEqual(brontos);
    expect(await total(`id = '${deleted.id}'`)).toBe(0);
  });

  it.each([
    ["species = 'bronto_3'", ['bronto_3']],
    ["species like 'bronto_1%'", ['bronto_1', ...Array.from({ length: 10 }, (_, i) => `bronto_${10 + i}`)]],
    ["species ilike 'BRONTO_2%'", ['bronto_2', 'bronto_20']],
    ["species like 'BRONTO_2%'", []],
    [
      "species not like 'bronto_1%'",
      Array.from({ length: 8 }, (_, i) => `bronto_${i + 2}`).concat('bronto_20'),
    ],
    ["not species = 'bronto_1'", Array.from({ length: 19 }, (_, i) => `bronto_${i + 2}`)],
    ["species != 'bronto_1'", Array.from({ length: 19 }, (_, i) => `bronto_${i + 2}`)],
    ["species <> 'bronto_1'", Array.from({ length: 19 }, (_, i) => `bronto_${i + 2}`)],
    ["dinosaurs.species = 'bronto_7'", ['bronto_7']],
    ["species in ('bronto_4', 'bronto_5', 'nope')", ['bronto_4', 'bronto_5']],
    ["species IN ('bronto_4')", ['bronto_4']],
    [
      "species not in ('bronto_4', 'bronto_5')",
      Array.from({ length: 20 }, (_, i) => `bronto_${i + 1}`).filter(
        (name) => name !== 'bronto_4' && name !== 'bronto_5',
      ),
    ],
    ["species < 'bronto_2'", ['bronto_1', ...Array.from({ length: 10 }, (_, i) => `bronto_${10 + i}`)]],
    ["species >= 'bronto_8'", ['bronto_8', 'bronto_9']],
    ["species between 'bronto_3' and 'bronto_4'", ['bronto_3', 'bronto_4']],
    ["species not between 'bronto_1' and 'bronto_8'", ['bronto_9']],
    ['species is null', []],
    ['species is not null', Array.from({ length: 20 }, (_, i) => `bronto_${i + 1}`)],
    ['updated_at IS NOT NULL', Array.from({ length: 20 }, (_, i) => `bronto_${i + 1}`)],
    ["species = 'bronto_1' or species = 'bronto_2'", ['bronto_1', 'bronto_2']],
    ["(species = 'bronto_1' or species = 'bronto_2') and species != 'bronto_1'", ['bronto_2']],
    ["species = 'bronto_1' or species = 'bronto_2' and species != 'bronto_1'", ['bronto_1', 'bronto_2']],
    [
      "not (species = 'bronto_1' or species like 'bronto_2%')",
      Array.from({ length: 17 }, (_, i) => `bronto_${i + 3}`),
    ],
    ["species = 'BRONTO_3'", []],
    ["species = 'bronto_3 '", []],
    ["species = 'bronto_3' AND species = 'bronto_4'", []],
  ])('%s', async (search, expected) => {
    const body = await list({ search });
    expect(body.total).toBe(expected.length);
    expect([...speciesOf(body.items)].sort()).toEqual([...expected].sort());
  });

  it("finds a row by id: id in ('<id>') → 1", async () => {
    const target = bronto(12);
    const body = await list({ search: `id in ('${target.id}')` });
    expect(body).toEqual({ kind: 'DinosaurList', page: 1, size: 1, total: 1, items: [target] });
    expect(await total(`id = '${target.id}'`)).toBe(1);
    expect(await total(`dinosaurs.id in ('${bronto(1).id}', '${bronto(2).id}', 'nope')`)).toBe(2);
    expect(await total(`id != '${target.id}'`)).toBe(19);
  });

  it('compares timestamps at millisecond precision, with between inclusive at both ends', async () => {
    const low = bronto(5).created_at;
    const high = bronto(10).created_at;
    const body = await list({ search: `created_at between '${low}' and '${high}'` });
    expect(ids(body.items)).toEqual(ids(brontos.slice(4, 10)));
    expect(await total(`created_at not between '${low}' and '${high}'`)).toBe(14);
    expect(await total(`not created_at between '${low}' and '${high}'`)).toBe(14);
    expect(await total(`created_at > '${bronto(20).created_at}'`)).toBe(0);
    expect(await total(`created_at >= '${bronto(20).created_at}'`)).toBe(1);
    expect(await total(`created_at < '${bronto(1).created_at}'`)).toBe(0);
    expect(await total(`created_at = '${bronto(7).created_at}'`)).toBe(1);
    expect(await total(`dinosaurs.updated_at <= '${bronto(3).updated_at}'`)).toBe(3);
  });

  it('takes timestamps as dates, with offsets, and in the past and future', async () => {
    expect(await total("created_at > '2000-01-01'")).toBe(20);
    expect(await total("created_at < '2000-01-01T00:00:00+05:00'")).toBe(0);
    expect(await total("created_at between '1970-01-01' and '2999-12-31T23:59:59Z'")).toBe(20);
    expect(await total('created_at is null')).toBe(0);
  });

  it('takes keywords in any case and fields with or without the table name', async () => {
    expect(await total("NOT dinosaurs.species LIKE 'bronto_1%' AnD species ILIKE '%0'")).toBe(1);
    expect(await total("species Not In ('bronto_1') oR species = 'bronto_1'")).toBe(20);
  });

  it('treats % and _ as wildcards and a quoted string as a value, however it looks', async () => {
    expect(await total("species like 'bronto__'")).toBe(9);
    expect(await total("species like 'bronto\\_1'")).toBe(1);
    expect(await total("species = 'bronto_1'' or ''1''=''1'")).toBe(0);
    expect(await total("species = ''")).toBe(0);
  });
});

describe('orderBy', () => {
  const sorted = (compare: (a: Dinosaur, b: Dinosaur) => number) => ids([...brontos].sort(compare));
  const bySpecies = (a: Dinosaur, b: Dinosaur) =>
    a.species < b.species ? -1 : a.species > b.species ? 1 : 0;

  it('orders by species ascending, by default and with asc', async () => {
    const expected = sorted(bySpecies);
    expect(ids((await list({ orderBy: 'species' })).items)).toEqual(expected);
    expect(ids((await list({ orderBy: 'species asc' })).items)).toEqual(expected);
    expect(ids((await list({ orderBy: 'species ASC' })).items)).toEqual(expected);
  });

  it('orders by species descending, the direction in any case, the field with or without the table', async () => {
    const expected = sorted((a, b) => bySpecies(b, a));
    expect(expected[0]).toBe(bronto(9).id);
    for (const orderBy of [
      'species desc',
      'species DESC',
      'species Desc',
      'dinosaurs.species desc',
      ' species  desc ',
    ]) {
      expect(ids((await list({ orderBy })).items), orderBy).toEqual(expected);
    }
  });

  it('orders by created_at either way', async () => {
    expect(ids((await list({ orderBy: 'created_at desc' })).items)).toEqual(ids([...brontos].reverse()));
    expect(ids((await list({ orderBy: 'created_at' })).items)).toEqual(ids(brontos));
    expect(ids((await list({ orderBy: 'dinosaurs.updated_at DESC' })).items)).toEqual(
      ids([...brontos].reverse()),
    );
  });

  it('orders by several fields, each in its own direction', async () => {
    const twins: Dinosaur[] = [];
    try {
      for (const species of ['twin_a', 'twin_b', 'twin_a', 'twin_b']) {
        twins.push(await create(species));
        await sleep(3);
      }
      const [a1, b1, a2, b2] = twins as [Dinosaur, Dinosaur, Dinosaur, Dinosaur];
      const search = "species like 'twin%'";
      expect(ids((await list({ search, orderBy: 'species asc, created_at desc' })).items)).toEqual(
        ids([a2, a1, b2, b1]),
      );
      expect(ids((await list({ search, orderBy: 'species desc,created_at' })).items)).toEqual(
        ids([b1, b2, a1, a2]),
      );
      expect(
        ids((await list({ search, orderBy: 'dinosaurs.species DESC, dinosaurs.created_at DESC' })).items),
      ).toEqual(ids([b2, b1, a2, a1]));
    } finally {
      await service.database.query("delete from dinosaurs where species like 'twin%'");
    }
  });

  it.each([
    ['nope', 'nope'],
    ['species sideways', 'species sideways'],
    ['species desc, colour', 'colour'],
    ['foo.species', 'foo.species'],
    ['a.b.c desc', 'a.b.c desc'],
    ['species,', ''],
    ['species desc nulls first', 'species desc nulls first'],
    ['deleted_at', 'deleted_at'],
  ])('refuses orderBy=%j with 400 code 21 naming %j', async (orderBy, item) => {
    expectError(await get({ orderBy }), 400, 21, `bad order value '${item}'`);
  });
});

describe('fields', () => {
  it('returns only id and species for fields=species, keeping the envelope', async () => {
    const body = await list({ fields: 'species' });
    expect(body).toMatchObject({ kind: 'DinosaurList', page: 1, size: 20, total: 20 });
    expect(body.items).toEqual(brontos.map(({ id, species }) => ({ id, species })));
    for (const item of body.items) expect(Object.keys(item).sort()).toEqual(['id', 'species']);
  });

  it('answers with Content-Type application/json, as without fields', async () => {
    for (const fields of ['species', 'id', 'species,created_at']) {
      const response = await get({ fields });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type'), `fields=${fields}`).toMatch(/^application\/json(;|$)/);
    }
  });

  it('returns only the id for fields=id', async () => {
    const body = await list({ fields: 'id' });
    expect(body.items).toEqual(brontos.map(({ id }) => ({ id })));
  });

  it('returns the fields asked for, each once, whatever the order, spaces or repeats', async () => {
    const body = await list({
      fields: ' created_at , kind,created_at,href ',
      search: "species = 'bronto_2'",
    });
    const { id, kind, href, created_at } = bronto(2);
    expect(body.items).toEqual([{ id, kind, href, created_at }]);
  });

  it('refuses unknown fields with 400 code 8, naming each of them', async () => {
    const response = await get({ fields: 'species,colour,weight' });
    expectError(response, 400, 8);
    expect(response.body.reason).toMatch(/colour/);
    expect(response.body.reason).toMatch(/weight/);
    expectError(await get({ fields: 'deleted_at' }), 400, 8, /deleted_at/);
    expectError(await get({ fields: '*' }), 400, 8, /\*/);
  });
});

describe('search, orderBy, fields and paging together', () => {
  it('pages through a search result 5 at a time in the requested order, with the match count as total', async () => {
    const matching = [1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]
      .map((n) => `bronto_${n}`)
      .sort()
      .reverse();
    const seen: string[] = [];
    for (const [page, expectedSize] of [
      [1, 5],
      [2, 5],
      [3, 1],
      [4, 0],
    ] as const) {
      const body = await list({
        search: "species like 'bronto_1%'",
        orderBy: 'species desc',
        fields: 'species',
        page,
        size: 5,
      });
      expect(body).toMatchObject({ kind: 'DinosaurList', page, size: expectedSize, total: 11 });
      for (const item of body.items) expect(Object.keys(item).sort()).toEqual(['id', 'species']);
      seen.push(...speciesOf(body.items));
    }
    expect(seen).toEqual(matching);
  });

  it('answers size=0 with the total of the search', async () => {
    expect(await list({ search: "species ilike 'BRONTO_2%'", size: 0 })).toEqual({
      kind: 'DinosaurList',
      page: 1,
      size: 0,
      total: 2,
      items: [],
    });
  });

  it('treats empty parameters as not given', async () => {
    const body = await list({ page: '', size: '', search: '', orderBy: '', fields: '' });
    expect(body.total).toBe(20);
    expect(body.items).toEqual(brontos);
    expect((await list({ search: '   ' })).total).toBe(20);
  });
});

describe('search errors', () => {
  it.each([
    "species = 'abc",
    'species =',
    "= 'x'",
    "species == 'x'",
    "(species = 'x'",
    "species = 'x')",
    "species = 'x';",
    'species = "x"',
    '()',
    "species = 'x' garbage",
    'species in ()',
  ])('answers %j with 400 code 21 "Failed to parse search query: <search>"', async (search) => {
    const response = await get({ search });
    expectError(response, 400, 21, new RegExp(`^${escapeRegExp(`Failed to parse search query: ${search}`)}`));
  });

  it.each([
    ["colour = 'red'", 'colour'],
    ["foo.bar = 'x'", 'foo.bar'],
    ["a.b.c = 'x'", 'a.b.c'],
    ["events.source = 'Dinosaurs'", 'events.source'],
    ['deleted_at is not null', 'deleted_at'],
  ])('answers the unknown field in %j with 400 code 21 naming it', async (search, name) => {
    expectError(await get({ search }), 400, 21, new RegExp(escapeRegExp(name)));
  });

  it('answers a search too long for the request line with a 4xx Error body, not the HTTP server’s own', async () => {
    const response = await get({ search: `species = '${'a'.repeat(20_000)}'` });
    const context = `${response.status} ${response.text}`;
    expect(response.status, context).toBeGreaterThanOrEqual(400);
    expect(response.status, context).toBeLessThan(500);
    expect(response.headers.get('content-type'), context).toMatch(/^application\/json(;|$)/);
    expect(response.body, context).toMatchObject({
      kind: 'Error',
      id: expect.any(String),
      code: `rh-trex-${response.body?.id}`,
      reason: expect.any(String),
    });
  });

  it.each([
    "created_at > 'yesterday'",
    'species = 1',
    'species = true',
    "species in ('a', 2)",
    "created_at like '2024%'",
    "created_at between '2024-01-01' and 'tomorrow'",
  ])('answers the mistyped value in %j with 400 code 21', async (search) => {
    expectError(await get({ search }), 400, 21);
  });
});

describe('property tests over HTTP', () => {
  it('answers 200 to any valid search, with a total no larger than the rows', async () => {
    await fc.assert(
      fc.asyncProperty(validDinosaurSearch, async ({ text }) => {
        const response = await get({ search: text });
        expect(response.status, `${text}: ${response.text}`).toBe(200);
        expect(response.body.kind).toBe('DinosaurList');
        expect(response.body.total).toBeGreaterThanOrEqual(0);
        expect(response.body.total).toBeLessThanOrEqual(20);
        expect(response.body.items).toHaveLength(response.body.total);
      }),
      { numRuns: 100 },
    );
  });

  it('answers 200 or 400 with an Error body to any string as search, orderBy or fields, never 5xx', async () => {
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.string({ unit: 'binary', maxLength: 20 }),
    );
    const parameter = fc.constantFrom(['search', 21], ['orderBy', 21], ['fields', 8]);
    await fc.assert(
      fc.asyncProperty(parameter, text, async ([name, code], value) => {
        const response = await get({ [name]: value });
        const context = `${name}=${JSON.stringify(value)}: ${response.status} ${response.text}`;
        expect([200, 400], context).toContain(response.status);
        // A 200 with fields lacks its Content-Type (tested on its own above): read the text.
        if (response.status === 200) expect(JSON.parse(response.text).kind, context).toBe('DinosaurList');
        else expectError(response, 400, code as number);
      }),
      { numRuns: 150 },
    );
  });
});

describe('injection attempts', () => {
  // 'refused': 400 with the code; a number: 200 with that total.
  const corpus: [parameter: string, value: string, outcome: number | ['refused', number]][] = [
    ['search', "species = 'x'; drop table dinosaurs; --", ['refused', 21]],
    ['search', "species = 'x' or 1=1", ['refused', 21]],
    ['search', "species = '' or ''=''", ['refused', 21]],
    ['search', '1=1', ['refused', 21]],
    ['search', "species = 'x' or true", ['refused', 21]],
    [
      'search',
      "species = 'x' union select id, source, created_at, updated_at, null from events",
      ['refused', 21],
    ],
    ['search', "species = 'x' -- comment", ['refused', 21]],
    ['search', "species = 'x' /* comment */", ['refused', 21]],
    ['search', "species = 'x' or pg_sleep(5) is null", ['refused', 21]],
    ['search', "species = 'x' ; select pg_sleep(10)", ['refused', 21]],
    ['search', "species = 'x' and id = (select id from dinosaurs limit 1)", ['refused', 21]],
    ['search', 'species in (select species from dinosaurs)', ['refused', 21]],
    ['search', 'species = chr(39)', ['refused', 21]],
    ['search', "species::text = 'x'", ['refused', 21]],
    ['search', "species = 'a' || 'b'", ['refused', 21]],
    ['search', 'species = $$x$$', ['refused', 21]],
    ['search', "species = E'\\x27'", ['refused', 21]],
    ['search', 'species = 0x27', ['refused', 21]],
    ['search', '"species" = \'x\'', ['refused', 21]],
    ['search', 'species = ’x’ or 1=1', ['refused', 21]],
    ['search', 'species = ＇x＇', ['refused', 21]],
    ['search', 'species = %27x%27 or 1=1', ['refused', 21]],
    ['search', "species = 'x\\' or 1=1 --'", ['refused', 21]],
    ['search', "species = 'x' and created_at > now()", ['refused', 21]],
    ['search', "dinosaurs.species = 'x' or events.id is not null", ['refused', 21]],
    ['search', "pg_catalog.pg_tables.tablename = 'dinosaurs'", ['refused', 21]],
    ['search', "species = 'x''; drop table dinosaurs; --'", 0],
    ['search', "species = 'x'' or ''1''=''1'", 0],
    ['search', "species = 'bronto_1\\'", 0],
    ['search', "species = '\\'' or 1=1 --'", 0],
    ['search', "species like '%'' or ''%''=''%'", 0],
    ['search', "species in ('x'')) or ((''1''=''1')", 0],
    ['orderBy', 'species; drop table dinosaurs', ['refused', 21]],
    ['orderBy', '(select 1)', ['refused', 21]],
    ['orderBy', 'species desc nulls first', ['refused', 21]],
    ['orderBy', 'random()', ['refused', 21]],
    ['orderBy', 'species desc, (case when 1=1 then id end)', ['refused', 21]],
    ['orderBy', '1', ['refused', 21]],
    ['orderBy', 'species collate "C"', ['refused', 21]],
    ['orderBy', 'species asc; --', ['refused', 21]],
    ['orderBy', 'species desc limit 1', ['refused', 21]],
    ['orderBy', 'pg_sleep(1)', ['refused', 21]],
    ['orderBy', 'events.id', ['refused', 21]],
    ['orderBy', 'species/**/desc', ['refused', 21]],
    ['fields', 'species from dinosaurs;--', ['refused', 8]],
    ['fields', '*', ['refused', 8]],
    ['fields', 'species,(select 1)', ['refused', 8]],
    ['fields', 'id; drop table events', ['refused', 8]],
    ['fields', 'species--', ['refused', 8]],
    ['fields', 'deleted_at', ['refused', 8]],
  ];

  it('refuses each attempt with 400 or answers it harmlessly, and leaves every table intact', async () => {
    const count = async (table: string) =>
      Number((await service.database.query(`select count(*) as n from ${table}`))[0]?.n);
    const before = { dinosaurs: await count('dinosaurs'), events: await count('events') };
    expect(before.dinosaurs).toBe(21);
    expect(before.events).toBeGreaterThanOrEqual(22);
    const started = Date.now();
    for (const [parameter, value, outcome] of corpus) {
      const response = await get({ [parameter]: value });
      const context = `${parameter}=${value}: ${response.status} ${response.text}`;
      if (typeof outcome === 'number') {
        expect(response.status, context).toBe(200);
        expect(response.body.total, context).toBe(outcome);
      } else {
        expectError(response, 400, outcome[1]);
        if (parameter === 'orderBy') expect(response.body.reason, context).toMatch(/^bad order value '/);
        // The reason is the service's own, not a PostgreSQL error passed through.
        expect(response.body.reason, context).not.toMatch(/syntax error at or near|does not exist/);
      }
    }
    // Nothing slept: pg_sleep never ran.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect({ dinosaurs: await count('dinosaurs'), events: await count('events') }).toEqual(before);
    expect(await total("species like 'bronto%'")).toBe(20);
  });

  it.each([
    ["species like 'bronto_1\\'", 'a LIKE pattern ending in a backslash'],
    ["species ilike '\\'", 'an ILIKE pattern that is only a backslash'],
    ["species = 'bronto\u0000'", 'a NUL character in a string'],
    ["species in ('a', 'b\u0000c')", 'a NUL character in an in list'],
  ])('never answers 5xx to %j (%s)', async (search) => {
    const response = await get({ search });
    const context = `${response.status} ${response.text}`;
    expect([200, 400], context).toContain(response.status);
    if (response.status === 200) expect(response.body.total, context).toBe(0);
    else expectError(response, 400, 21);
  });
});

type Captured = { sql: string; parameters: readonly unknown[] }[];

// 10,000 dinosaurs (bulk_1 ... bulk_10000, analyzed) for the length of `run`, and a Kysely on their
// database that records every statement it sends.
async function withBulkDinosaurs(
  run: (db: Kysely<Database>, captured: Captured) => Promise<void>,
): Promise<void> {
  await service.database.query(
    `insert into dinosaurs (id, species, created_at, updated_at)
     select 'bulk-' || lpad(n::text, 5, '0'), 'bulk_' || n, now() - n * interval '1 second', now()
     from generate_series(1, 10000) as n`,
  );
  const pool = new pg.Pool({ connectionString: service.database.url, max: 1 });
  const captured: Captured = [];
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (event.level === 'query') captured.push(event.query);
    },
  });
  try {
    await service.database.query('analyze dinosaurs');
    await run(db, captured);
  } finally {
    await db.destroy();
    await service.database.query("delete from dinosaurs where id like 'bulk-%'");
  }
}

describe('a search on species uses the species index', () => {
  it('plans the list query of the DAO with an index scan on 10,000 rows, not a sequential scan', () =>
    withBulkDinosaurs(async (db, captured) => {
      const where = compileSearch(parseSearch("species = 'x'"), kindListable(dinosaurKind).searchable).where;
      const result = await new KindDao(dinosaurKind).list(db, { where, orderBy: [], offset: 0, limit: 100 });
      expect(result).toEqual({ rows: [], total: 0, estimated: false });
      // The count and the page.
      expect(captured).toHaveLength(2);
      const page = captured[1];
      expect(page?.sql).toMatch(/"dinosaurs"\."species" = \$1/);
      expect(page?.sql).toMatch(/limit \$2/);
      for (const statement of captured) {
        const { nodes, text } = await planOf(service.database, statement);
        expect(
          nodes.filter((node) => node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'dinosaurs'),
          text,
        ).toEqual([]);
        expect(
          nodes.some((node) => node['Index Name'] === 'dinosaurs_species'),
          text,
        ).toBe(true);
      }
    }));

  it("serves a prefix like through the species' prefix index, where PostgreSQL would scan without it", () =>
    withBulkDinosaurs(async (db, captured) => {
      const searchable = kindListable(dinosaurKind).searchable;
      const plansOf = async (searchableFields: typeof searchable) => {
        captured.length = 0;
        const { where } = compileSearch(parseSearch("species like 'bulk_42%'"), searchableFields);
        const result = await new KindDao(dinosaurKind).list(db, {
          where,
          orderBy: [],
          offset: 0,
          limit: 100,
          count: { mode: 'capped', limit: 10_000 },
        });
        expect(result.total).toBe(111); // bulk_42, bulk_420 ... bulk_429, bulk_4200 ... bulk_4299
        return await Promise.all(captured.map((statement) => planOf(service.database, statement)));
      };
      const seqScan = (nodes: readonly PlanNode[]) =>
        nodes.some((node) => node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'dinosaurs');
      // With the prefix condition: the count and the page each read the prefix index, no scan; also in
      // the plan kept for a statement prepared once (made without the pattern's value).
      for (const { nodes, text } of await plansOf(searchable)) {
        expect(seqScan(nodes), text).toBe(false);
        expect(
          nodes.some((node) => node['Index Name'] === 'dinosaurs_species_prefix'),
          text,
        ).toBe(true);
      }
      for (const statement of [...captured]) {
        const { nodes, text } = await planOf(service.database, statement, { generic: true });
        expect(
          nodes.some((node) => node['Index Name'] === 'dinosaurs_species_prefix'),
          text,
        ).toBe(true);
      }
      // Without it (the plain like): the count scans the table.
      const plain = {
        ...searchable,
        fields: { ...searchable.fields, species: { column: 'species', type: 'string' as const } },
      };
      const [count] = await plansOf(plain);
      expect(count && seqScan(count.nodes), count?.text).toBe(true);
    }));

  it('serves orderBy=species, and the pages after a cursor, through the order index', () =>
    withBulkDinosaurs(async (db, captured) => {
      const orderBy = parseOrderBy('species', kindListable(dinosaurKind).searchable);
      const dao = new KindDao(dinosaurKind);
      const first = await dao.list(db, { where: undefined, orderBy, offset: 0, limit: 100 });
      expect(first.rows.map((row) => row.species)).toEqual(
        first.rows.map((row) => row.species as string).sort(),
      );
      const cursor = readCursor(first.next as string, orderKeys('dinosaurs', orderBy));
      const second = await dao.list(db, { where: undefined, orderBy, offset: 0, limit: 100, after: cursor });
      expect((second.rows[0]?.species as string) > (first.rows.at(-1)?.species as string)).toBe(true);
      const pages = captured.filter((statement) => statement.sql.includes('order by'));
      expect(pages).toHaveLength(2);
      for (const statement of pages) {
        const { nodes, text } = await planOf(service.database, statement);
        expect(
          nodes.some((node) => node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'dinosaurs'),
          text,
        ).toBe(false);
        expect(
          nodes.some((node) => node['Index Name'] === 'dinosaurs_species_order'),
          text,
        ).toBe(true);
      }
    }));

  it('uses the index for the equivalent hand-written SQL too', async () => {
    await service.database.query(
      `insert into dinosaurs (id, species, created_at, updated_at)
       select 'bulk-' || lpad(n::text, 5, '0'), 'bulk_' || n, now() - n * interval '1 second', now()
       from generate_series(1, 10000) as n`,
    );
    try {
      await service.database.query('analyze dinosaurs');
      const { nodes } = await planOf(service.database, {
        sql: `select * from dinosaurs where deleted_at is null and dinosaurs.species = $1
         order by created_at, id limit 100`,
        parameters: ['x'],
      });
      expect(nodes.map((node) => node['Node Type'])).not.toContain('Seq Scan');
      expect(nodes.some((node) => node['Index Name'] === 'dinosaurs_species')).toBe(true);
    } finally {
      await service.database.query("delete from dinosaurs where id like 'bulk-%'");
    }
  });
});
