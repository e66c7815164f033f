// The example relation end to end (docs/relations.md): Fossil references Dinosaur. Search, order and
// embed through `dinosaur.species` over real HTTP; one statement per list page whatever the number
// of items; the indexes used on 10,000 rows each side; watch streams filtered through the relation.
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { fossilKind } from '../../src/kinds/fossils/model.ts';
import { KindDao } from '../../src/kinds/framework/dao.ts';
import { parseListQuery } from '../../src/kinds/framework/list-params.ts';
import { kindListable } from '../../src/kinds/framework/listable.ts';
import { expectError } from '../support/expectations.ts';
import { planOf } from '../support/query-plans.ts';
import { serviceForFile } from '../support/service.ts';
import { openSse } from '../support/sse.ts';

// biome-ignore lint/suspicious/noExplicitAny: resources are JSON whose shape the tests assert
type Json = any;

const base = '/api/rh-trex/v1';
const service = serviceForFile();
let tag: string; // this file's species names start with it

beforeAll(() => {
  tag = `rel${Date.now().toString(36)}`;
});

async function created(path: string, body: object): Promise<Json> {
  const response = await service.api(`${base}/${path}`, { method: 'POST', body });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

async function listed(params: Record<string, string>): Promise<Json> {
  const response = await service.api(`${base}/fossils?${new URLSearchParams(params)}`);
  expect(response.status, response.text).toBe(200);
  return response.body;
}

describe('Fossil → Dinosaur over HTTP', () => {
  let rex: Json;
  let stego: Json;
  let fossils: Json[];
  const scope = (): string => `site like '${tag}%'`;

  beforeAll(async () => {
    rex = await created('dinosaurs', { species: `${tag} Tyrannosaurus` });
    stego = await created('dinosaurs', { species: `${tag} Stegosaurus` });
    fossils = [
      await created('fossils', { site: `${tag} Hell Creek`, dinosaur_id: rex.id }),
      await created('fossils', { site: `${tag} Morrison`, dinosaur_id: stego.id }),
      await created('fossils', { site: `${tag} Badlands`, dinosaur_id: rex.id }),
      await created('fossils', { site: `${tag} Unknown bone` }),
    ];
  });

  it('search=dinosaur.species finds the fossils of that species only', async () => {
    const body = await listed({ search: `dinosaur.species = '${tag} Tyrannosaurus'`, orderBy: 'site' });
    expect(body.items.map((item: Json) => item.site)).toEqual([`${tag} Badlands`, `${tag} Hell Creek`]);
    expect(body.total).toBe(2);
  });

  it('a fossil with no dinosaur matches no condition on the dinosaur, negated or not', async () => {
    const negated = await listed({
      search: `not (dinosaur.species = '${tag} Tyrannosaurus') and ${scope()}`,
    });
    expect(negated.items.map((item: Json) => item.site)).toEqual([`${tag} Morrison`]);
    const missing = await listed({ search: `dinosaur.id is null and ${scope()}` });
    expect(missing.items.map((item: Json) => item.site)).toEqual([`${tag} Unknown bone`]);
  });

  it('orderBy=dinosaur.species, site orders by the related field first; no dinosaur sorts last', async () => {
    const body = await listed({ search: scope(), orderBy: 'dinosaur.species, site' });
    expect(body.items.map((item: Json) => item.site)).toEqual([
      `${tag} Morrison`,
      `${tag} Badlands`,
      `${tag} Hell Creek`,
      `${tag} Unknown bone`,
    ]);
  });

  it('fields=id,site,dinosaur.species nests the species under the relation, null without one', async () => {
    const body = await listed({ search: scope(), orderBy: 'site', fields: 'id,site,dinosaur.species' });
    const reference = (dinosaur: Json) => ({
      id: dinosaur.id,
      kind: 'Dinosaur',
      href: `${base}/dinosaurs/${dinosaur.id}`,
      species: dinosaur.species,
    });
    expect(body.items).toEqual([
      { id: fossils[2].id, site: `${tag} Badlands`, dinosaur: reference(rex) },
      { id: fossils[0].id, site: `${tag} Hell Creek`, dinosaur: reference(rex) },
      { id: fossils[1].id, site: `${tag} Morrison`, dinosaur: reference(stego) },
      { id: fossils[3].id, site: `${tag} Unknown bone`, dinosaur: null },
    ]);
  });

  it('a change of the dinosaur shows in the next list: embedding reads the related row as it is', async () => {
    const renamed = `${tag} Stegosaurus stenops`;
    const patch = await service.api(`${base}/dinosaurs/${stego.id}`, {
      method: 'PATCH',
      body: { species: renamed },
    });
    expect(patch.status, patch.text).toBe(200);
    const body = await listed({ search: `dinosaur.species = '${renamed}'`, fields: 'dinosaur.species' });
    expect(body.items).toEqual([
      { id: fossils[1].id, dinosaur: expect.objectContaining({ id: stego.id, species: renamed }) },
    ]);
  });

  it('deleting a dinosaur that has fossils: 409 code 6 naming Fossil, no event recorded', async () => {
    const events = async () =>
      (
        await service.database.query('select count(*)::int as n from events where source_id = $1', [rex.id])
      )[0]?.n;
    const before = await events();
    const response = await service.api(`${base}/dinosaurs/${rex.id}`, { method: 'DELETE' });
    expectError(
      response,
      409,
      6,
      `Dinosaur with id='${rex.id}' is referenced by 2 Fossil resources (dinosaur_id): delete or change them first`,
    );
    expect(await events()).toBe(before);
    expect((await service.api(`${base}/dinosaurs/${rex.id}`)).status).toBe(200);
  });

  it('watch=true with search=dinosaur.species streams only the fossils of that species', async () => {
    const token = await service.keys.mint();
    const search = `dinosaur.species = '${tag} Tyrannosaurus'`;
    const stream = await openSse(
      `${service.apiUrl}${base}/fossils?${new URLSearchParams({ watch: 'true', search })}`,
      {
        authorization: `Bearer ${token}`,
      },
    );
    try {
      expect(stream.status).toBe(200);
      const skipped = await created('fossils', { site: `${tag} watched stego`, dinosaur_id: stego.id });
      const wanted = await created('fossils', { site: `${tag} watched rex`, dinosaur_id: rex.id });
      const objects = () => stream.messages.map((message) => JSON.parse(message.data).object);
      await stream.waitUntil(
        () => objects().some((object) => object.id === wanted.id),
        'the rex fossil',
        15_000,
      );
      expect(objects().map((object) => object.id)).toEqual([wanted.id]);
      expect(objects().map((object) => object.id)).not.toContain(skipped.id);
      expect(objects()[0].dinosaur).toEqual({
        id: rex.id,
        kind: 'Dinosaur',
        href: `${base}/dinosaurs/${rex.id}`,
      });
    } finally {
      stream.close();
    }
  });
});

describe('a page of 100 fossils with their dinosaurs, searched by species, on 10,000 rows each', () => {
  const captured: { sql: string; parameters: readonly unknown[] }[] = [];
  let db: Kysely<Database>;

  beforeAll(async () => {
    await service.database.query(
      `insert into dinosaurs (id, species, created_at, updated_at)
       select 'bulk-d-' || lpad(n::text, 5, '0'), 'bulk species ' || (n % 500), now() - n * interval '1 second', now()
       from generate_series(1, 10000) as n`,
    );
    await service.database.query(
      `insert into fossils (id, site, dinosaur_id, created_at, updated_at)
       select 'bulk-f-' || lpad(n::text, 5, '0'), 'bulk site ' || n, 'bulk-d-' || lpad(n::text, 5, '0'),
         now() - n * interval '1 second', now()
       from generate_series(1, 10000) as n`,
    );
    await service.database.query('analyze dinosaurs');
    await service.database.query('analyze fossils');
    const pool = new pg.Pool({ connectionString: service.database.url, max: 1 });
    db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool }),
      log: (event) => {
        if (event.level === 'query') captured.push(event.query);
      },
    });
  });
  afterAll(async () => {
    await db?.destroy();
  });

  async function listPage(query: Record<string, string>): Promise<number> {
    const { where, orderBy, embed, joins } = parseListQuery(query, kindListable(fossilKind));
    captured.length = 0;
    const { rows } = await new KindDao(fossilKind).list(db, {
      where,
      orderBy,
      offset: 0,
      limit: 100,
      joins,
      embed,
    });
    return rows.length;
  }

  it('reads the page and its embedded dinosaurs in one statement, the count in another', async () => {
    expect(await listPage({ fields: 'id,site,dinosaur.species' })).toBe(100);
    expect(captured).toHaveLength(2);
    expect(captured[1]?.sql).toMatch(/left join "dinosaurs" as "dinosaur"/);
  });

  it('plans the species search and embedding with the species and dinosaur_id indexes, no scan of either table', async () => {
    expect(
      await listPage({ search: "dinosaur.species = 'bulk species 7'", fields: 'id,dinosaur.species' }),
    ).toBe(20);
    expect(captured).toHaveLength(2);
    for (const statement of captured) {
      const { nodes, text } = await planOf(service.database, statement);
      expect(
        nodes.filter((node) => node['Node Type'] === 'Seq Scan'),
        text,
      ).toEqual([]);
      expect(
        nodes.some((node) => node['Index Name'] === 'dinosaurs_species'),
        text,
      ).toBe(true);
      expect(
        nodes.some((node) => node['Index Name'] === 'fossils_dinosaur_id'),
        text,
      ).toBe(true);
    }
  });
});
