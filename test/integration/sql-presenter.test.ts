import fc from 'fast-check';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../../src/db/pool.ts';
import { dinosaurKind } from '../../src/kinds/dinosaurs/model.ts';
import { defineField, defineReference } from '../../src/kinds/framework/fields.ts';
import { defineKind, type KindDefinition, type KindRow } from '../../src/kinds/framework/kind.ts';
import { createPresenter } from '../../src/kinds/framework/presenter.ts';
import { createSqlPresenter } from '../../src/kinds/framework/sql-presenter.ts';
import { plugins } from '../../src/kinds/plugins.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

// Lists have PostgreSQL write their items' JSON; the text must be the presenter's, byte for byte, for
// every type the SQL presenter takes and every value those types hold.

const basePath = '/api/rh-trex/v1';

const specimenKind = defineKind({
  name: 'Specimen',
  plural: 'specimens',
  fields: {
    name: defineField('string', { required: true }),
    nickname: defineField('string'),
    legs: defineField('int'),
    extinct: defineField('bool'),
    discovered: defineField('time'),
    secret: defineField('string', { writeOnly: true }),
    dinosaur_id: defineReference(() => dinosaurKind),
  },
});

let database: TestDatabase;
let handle: DatabaseHandle;

beforeAll(async () => {
  database = await createTestDatabase();
  await database.query(`create table specimens (
    id text primary key, name text not null, nickname text, legs int, extinct bool, discovered timestamptz,
    secret text, dinosaur_id text, tenant_id text, created_at timestamptz not null,
    updated_at timestamptz not null, deleted_at timestamptz)`);
  handle = openDatabase(
    { url: database.url, maxConnections: 2, acquireTimeoutMs: 10_000, debug: false },
    pino({ level: 'silent' }),
  );
});

afterAll(async () => {
  await handle?.close();
  await database?.drop();
});

// Instants as a timestamptz's text: JavaScript's year 0 is PostgreSQL's 1 BC, -1 is 2 BC; `micro` adds
// digits below the millisecond, as a row written by SQL may hold.
function instantText(date: Date, micro = ''): string {
  const iso = date.toISOString().replace('Z', `${micro}Z`);
  const [, year = '', rest = ''] = /^([+-]?\d+)(-.*)$/.exec(iso) ?? [];
  const astronomical = Number(year);
  const bc = astronomical < 1;
  return `${String(bc ? 1 - astronomical : astronomical).padStart(4, '0')}${rest}${bc ? ' BC' : ''}`;
}

// The API takes years 0 to 9999; a row written by SQL may hold any year PostgreSQL does.
const instant = fc.oneof(
  fc.date({
    min: new Date('0000-01-01T00:00:00.000Z'),
    max: new Date('9999-12-31T23:59:59.999Z'),
    noInvalidDate: true,
  }),
  fc.date({
    min: new Date('-004712-01-01T00:00:00.000Z'),
    max: new Date('+200000-01-01T00:00:00.000Z'),
    noInvalidDate: true,
  }),
);
const edgeInstants = [
  new Date('0000-02-29T12:34:56.789Z'),
  new Date('0001-01-01T00:00:00.000Z'),
  new Date('0099-12-31T23:59:59.999Z'),
  new Date('1969-12-31T23:59:59.999Z'),
  new Date('9999-12-31T23:59:59.999Z'),
  new Date('+010000-01-01T00:00:00.000Z'),
  new Date('-000001-02-28T00:00:00.000Z'),
];
const text = fc.string({ unit: 'binary', maxLength: 40 }).map((value) => value.replace(/\0/g, ''));
const edgeTexts = [
  '',
  '"quoted" \\ back\\slash',
  '\b\f\n\r\t\u0001\u001f\u007f',
  '\u2028\u2029 😀 é',
  '</script>',
];

const specimen = fc.record({
  name: fc.oneof(text, fc.constantFrom(...edgeTexts)),
  nickname: fc.option(text),
  legs: fc.option(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
  extinct: fc.option(fc.boolean()),
  discovered: fc.option(fc.oneof(instant, fc.constantFrom(...edgeInstants))),
  micro: fc.constantFrom('', '456', '999'),
  secret: fc.option(text),
  dinosaur_id: fc.option(fc.constantFrom('2Q7UvY0yoHV3H0yCjJ8i6nq2bZs', 'o"dd\\id')),
  created_at: instant,
});

async function presentedBoth(
  kind: KindDefinition,
  fields?: readonly string[],
): Promise<[string[], string[]]> {
  const present = createPresenter(basePath, kind);
  const presentInSql = createSqlPresenter(basePath, kind);
  if (!presentInSql) throw new Error(`${kind.name} has no SQL presenter`);
  const table = sql.table(kind.plural);
  const { rows } = await sql<KindRow & { item: string }>`
    select ${table}.*, ${presentInSql(fields)} as item from ${table} order by id`.execute(handle.db);
  const project = (resource: object) =>
    fields
      ? Object.fromEntries(Object.entries(resource).filter(([name]) => fields.includes(name)))
      : resource;
  return [rows.map((row) => row.item), rows.map((row) => JSON.stringify(project(present(row))))];
}

describe('the SQL presenter', () => {
  it("writes every row's JSON as the presenter does, whatever its values", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(specimen, { minLength: 1, maxLength: 20 }), async (specimens) => {
        await database.query('delete from specimens');
        for (const [index, value] of specimens.entries()) {
          await database.query(
            `insert into specimens (id, name, nickname, legs, extinct, discovered, secret, dinosaur_id,
               created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6::timestamptz, $7, $8, $9::timestamptz, now())`,
            [
              `s${String(index).padStart(3, '0')}`,
              value.name,
              value.nickname,
              value.legs,
              value.extinct,
              value.discovered && instantText(value.discovered, value.micro),
              value.secret,
              value.dinosaur_id,
              instantText(value.created_at, value.micro),
            ],
          );
        }
        const [inSql, inJs] = await presentedBoth(specimenKind);
        expect(inSql).toEqual(inJs);
        expect(inSql.join()).not.toContain('secret');
        const [projectedInSql, projectedInJs] = await presentedBoth(specimenKind, [
          'id',
          'dinosaur',
          'discovered',
        ]);
        expect(projectedInSql).toEqual(projectedInJs);
      }),
      { numRuns: 60 },
    );
  }, 120_000);

  it('leaves out the Kinds whose values PostgreSQL writes otherwise (int64, float), and takes every other', () => {
    const counted = defineKind({
      name: 'Counted',
      plural: 'counteds',
      fields: { population: defineField('int64') },
    });
    const weighed = defineKind({
      name: 'Weighed',
      plural: 'weigheds',
      fields: { weight: defineField('float') },
    });
    expect(createSqlPresenter(basePath, counted)).toBeUndefined();
    expect(createSqlPresenter(basePath, weighed)).toBeUndefined();
    expect(createSqlPresenter(basePath, specimenKind)).toBeDefined();
    // The Kinds served today all have one.
    for (const plugin of plugins)
      expect(createSqlPresenter(basePath, plugin.kind), plugin.kind.name).toBeDefined();
  });
});
