// The contract of a Kind's reference fields (docs/relations.md), part of the Kind contract suite
// (kind-contract.ts): validation of references, the delete rule, search and ordering through a
// relation, and embedding. It uses only what every Kind has (id, created_at) of the referenced Kind,
// so it holds for any reference of any generated Kind.
import { describe, expect, it } from 'vitest';
import type { KindDefinition } from '../../src/kinds/framework/kind.ts';
import { type Relation, relationsOf } from '../../src/kinds/framework/relations.ts';
import { expectError } from './expectations.ts';
import { sleep } from './field-values.ts';
import type { ApiResponse, TestService } from './service.ts';

type Body = Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: resources are JSON whose shape the tests assert
type Json = any;

// For each reference field, a valid POST body of the Kind it references.
export type ReferenceFactories = Readonly<Record<string, () => object>>;

const apiBase = '/api/rh-trex/v1';
const targetsPerReference = 3;

// The resources a Kind's references point at: created through the API from their Kinds' factories,
// and handed out in turn as the reference values of valid bodies.
export class ReferencedResources {
  readonly relations: readonly Relation[];
  private readonly pools = new Map<string, string[]>();
  private turn = 0;

  constructor(
    kind: KindDefinition,
    private readonly factories: ReferenceFactories,
    private readonly service: () => TestService,
  ) {
    this.relations = relationsOf(kind);
    for (const { field, target } of this.relations) {
      if (!Object.hasOwn(factories, field))
        throw new Error(`${kind.name}.${field}: pass a factory of ${target.name} bodies for it`);
    }
  }

  async create(): Promise<void> {
    for (const { field } of this.relations) {
      const ids: string[] = [];
      for (let n = 0; n < targetsPerReference; n++) ids.push((await this.createTarget(field)).id);
      this.pools.set(field, ids);
    }
  }

  // A new resource of the Kind `field` references.
  async createTarget(field: string): Promise<Json> {
    const relation = this.relation(field);
    const factory = this.factories[field] as () => object;
    const response = await this.service().api(`${apiBase}/${relation.target.plural}`, {
      method: 'POST',
      body: factory(),
    });
    expect(response.status, response.text).toBe(201);
    return response.body;
  }

  // A reference value for each reference field, taken in turn from the created resources.
  values(): Body {
    const turn = this.turn++;
    return Object.fromEntries(
      this.relations.map(({ field }) => {
        const pool = this.pools.get(field) ?? [];
        return [field, pool[turn % pool.length] ?? null];
      }),
    );
  }

  // How a resource shows the references of `values`: the id, and the relation's object.
  presented(values: Body): Body {
    return Object.fromEntries(
      this.relations.flatMap(({ name, field, target }) => {
        const id = values[field];
        const object =
          typeof id === 'string' && id !== ''
            ? { id, kind: target.name, href: `${apiBase}/${target.plural}/${id}` }
            : null;
        return [
          [field, object?.id ?? null],
          [name, object],
        ];
      }),
    );
  }

  relation(field: string): Relation {
    const found = this.relations.find((relation) => relation.field === field);
    if (!found) throw new Error(`no reference field ${field}`);
    return found;
  }
}

export interface ReferenceContext {
  readonly kind: KindDefinition;
  readonly service: () => TestService;
  readonly validBody: () => Body;
  readonly referenced: ReferencedResources;
}

export function describeReferenceContract(context: ReferenceContext): void {
  for (const relation of context.referenced.relations) describeReference(context, relation);
}

function describeReference(context: ReferenceContext, relation: Relation): void {
  const { kind, validBody, referenced } = context;
  const { name, field, target } = relation;
  const definition = kind.fields[field];
  const collection = `${apiBase}/${kind.plural}`;
  const targetPath = (id: string): string => `${apiBase}/${target.plural}/${id}`;
  const api = (path: string, init?: { method?: string; body?: unknown }): Promise<ApiResponse> =>
    context.service().api(path, init);
  const post = (body: Body): Promise<ApiResponse> => api(collection, { method: 'POST', body });
  const missingReason = (id: string): string =>
    `${field} must reference an existing ${target.name}: no ${target.name} with id='${id}'`;

  async function create(values: Body): Promise<Json> {
    const response = await post(values);
    expect(response.status, response.text).toBe(201);
    return response.body;
  }

  async function list(params: Record<string, string>): Promise<Json> {
    const response = await api(`${collection}?${new URLSearchParams(params)}`);
    expect(response.status, response.text).toBe(200);
    return response.body;
  }

  // Three resources: two reference `first`, one references `second` (created later).
  async function threeReferencing(): Promise<{ first: Json; second: Json; rows: Json[] }> {
    const first = await referenced.createTarget(field);
    await sleep(5); // created_at has milliseconds: the second is created strictly later
    const second = await referenced.createTarget(field);
    const rows = [
      await create({ ...validBody(), [field]: first.id }),
      await create({ ...validBody(), [field]: second.id }),
      await create({ ...validBody(), [field]: first.id }),
    ];
    return { first, second, rows };
  }
  const idsIn = (rows: Json[]): string => `id in (${rows.map((row) => `'${row.id}'`).join(', ')})`;

  describe(`reference ${field} to ${target.name} (relation '${name}')`, () => {
    it('a resource shows the id and where the referenced resource is; that href answers', async () => {
      const created = await create(validBody());
      const id = created[field];
      expect(created[name]).toEqual({ id, kind: target.name, href: targetPath(id) });
      const followed = await api(created[name].href);
      expect(followed.status, followed.text).toBe(200);
      expect(followed.body.id).toBe(id);
    });

    it('POST or PATCH naming no such resource: 400 code 8 naming the field, nothing written', async () => {
      expectError(await post({ ...validBody(), [field]: 'no-such-id' }), 400, 8, missingReason('no-such-id'));
      const created = await create(validBody());
      const patch = await api(`${collection}/${created.id}`, { method: 'PATCH', body: { [field]: 'gone' } });
      expectError(patch, 400, 8, missingReason('gone'));
      expect((await api(`${collection}/${created.id}`)).body).toEqual(created);
    });

    it('a reference to a deleted resource is refused like a missing one', async () => {
      const gone = await referenced.createTarget(field);
      expect((await api(targetPath(gone.id), { method: 'DELETE' })).status).toBe(204);
      expectError(await post({ ...validBody(), [field]: gone.id }), 400, 8, missingReason(gone.id));
    });

    it(`a reference that is not a string: 400 code 8 '${field} must be a string (an id)'`, async () => {
      for (const wrong of [1, true, { id: 'x' }, ['x']]) {
        expectError(
          await post({ ...validBody(), [field]: wrong }),
          400,
          8,
          `${field} must be a string (an id)`,
        );
      }
    });

    if (definition?.required) {
      it('a required reference that is missing, null or "": 400 code 8', async () => {
        for (const value of [undefined, null, '']) {
          expectError(await post({ ...validBody(), [field]: value }), 400, 8, `${field} is required`);
        }
      });
    } else {
      it('an optional reference given as null or "" is no reference: the relation shows null', async () => {
        for (const value of [null, '']) {
          const created = await create({ ...validBody(), [field]: value });
          expect(created[field]).toBeNull();
          expect(created[name]).toBeNull();
        }
      });
    }

    it(`deleting a referenced ${target.name}: 409 code 6 naming ${kind.name}; allowed once unreferenced`, async () => {
      const held = await referenced.createTarget(field);
      const holder = await create({ ...validBody(), [field]: held.id });
      expectError(
        await api(targetPath(held.id), { method: 'DELETE' }),
        409,
        6,
        `${target.name} with id='${held.id}' is referenced by 1 ${kind.name} resource (${field}): delete or change it first`,
      );
      expect((await api(targetPath(held.id))).status).toBe(200);
      expect((await api(`${collection}/${holder.id}`, { method: 'DELETE' })).status).toBe(204);
      expect((await api(targetPath(held.id), { method: 'DELETE' })).status).toBe(204);
    });

    it('a delete racing new references never leaves a live reference to a deleted resource', async () => {
      const contested = await referenced.createTarget(field);
      const [deleted, ...creates] = await Promise.all([
        api(targetPath(contested.id), { method: 'DELETE' }),
        ...Array.from({ length: 6 }, () => post({ ...validBody(), [field]: contested.id })),
      ]);
      const created = creates.filter((response) => response.status === 201).length;
      for (const response of creates) expect([201, 400], response.text).toContain(response.status);
      if (deleted?.status === 204) expect(created).toBe(0);
      else expect([deleted?.status, created > 0]).toEqual([409, true]);
      const [row] = await context.service().database.query<{ dangling: number }>(
        `select count(*)::int as dangling from "${kind.plural}" k join "${target.plural}" t on t.id = k."${field}"
         where k.deleted_at is null and t.deleted_at is not null`,
      );
      expect(row?.dangling).toBe(0);
    });

    it(`search through the relation: ${name}.id and ${name}.created_at`, async () => {
      const { first, second, rows } = await threeReferencing();
      const [a, b, c] = rows;
      const byId = await list({ search: `${name}.id = '${first.id}' and ${idsIn(rows)}` });
      expect(byId.items.map((item: Json) => item.id).sort()).toEqual([a.id, c.id].sort());
      const later = await list({ search: `${name}.created_at >= '${second.created_at}' and ${idsIn(rows)}` });
      expect(later.items.map((item: Json) => item.id)).toEqual([b.id]);
      expect(later.total).toBe(1);
    });

    it(`orderBy ${name}.created_at, then id`, async () => {
      const { rows } = await threeReferencing();
      const [a, b, c] = rows;
      // a and c tie on the relation's created_at; their own order is the database's order of ids.
      const tied = (items: Json[]) => new Set(items.map((item) => item.id));
      const ascending = (await list({ search: idsIn(rows), orderBy: `${name}.created_at` })).items;
      expect(tied(ascending.slice(0, 2))).toEqual(new Set([a.id, c.id]));
      expect(ascending[2].id).toBe(b.id);
      const descending = (await list({ search: idsIn(rows), orderBy: `${name}.created_at desc` })).items;
      expect(descending[0].id).toBe(b.id);
      expect(ascending.slice(0, 2).map((item: Json) => item.id)).toEqual(
        descending.slice(1).map((item: Json) => item.id),
      );
    });

    it(`fields=id,${name}.created_at embeds the referenced field in the relation's object`, async () => {
      const { first, second, rows } = await threeReferencing();
      const body = await list({ search: idsIn(rows), fields: `id,${name}.created_at` });
      const byId = new Map(body.items.map((item: Json) => [item.id, item]));
      const embedded = (target: Json) => ({
        id: target.id,
        kind: relation.target.name,
        href: targetPath(target.id),
        created_at: target.created_at,
      });
      expect(body.items).toHaveLength(3);
      expect(byId.get(rows[0].id)).toEqual({ id: rows[0].id, [name]: embedded(first) });
      expect(byId.get(rows[1].id)).toEqual({ id: rows[1].id, [name]: embedded(second) });
      expect(byId.get(rows[2].id)).toEqual({ id: rows[2].id, [name]: embedded(first) });
    });

    it('fields, search and orderBy naming what the relation does not have: 400', async () => {
      const search = async (text: string): Promise<ApiResponse> =>
        await api(`${collection}?${new URLSearchParams({ search: text })}`);
      expectError(
        await search(`${name}.no_such_field = 'x'`),
        400,
        21,
        `Invalid search query: unknown field '${name}.no_such_field': '${name}' has no field 'no_such_field' at position 0`,
      );
      expectError(await search(`${name}.deleted_at is null`), 400, 21, /unknown field/);
      expectError(await search(`${name}.${name}.id = 'x'`), 400, 21, /is not a field of/);
      expectError(await search(`no_such_relation.id = 'x'`), 400, 21, /is not a field of/);
      expectError(await search(`${name}.created_at = 1`), 400, 21, /needs a timestamp/);
      const order = await api(`${collection}?${new URLSearchParams({ orderBy: `${name}.nope` })}`);
      expectError(order, 400, 21, `bad order value '${name}.nope'`);
      const fields = await api(`${collection}?${new URLSearchParams({ fields: `id,${name}.nope` })}`);
      expectError(fields, 400, 8, `unknown field in fields: '${name}.nope'`);
    });
  });
}
