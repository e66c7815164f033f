// The contract every Kind keeps (docs/api.md, docs/search.md, docs/errors.md, docs/events.md), as one vitest
// suite derived from the Kind's fields alone. A Kind's test file is one call:
//
//   describeKindContract(rocketKind, validRocket);
//
// and proves the Kind behaves exactly as the example Kind, Dinosaur, does: the same routes, status
// codes, error codes and reasons, list and search semantics, events and controllers. Nothing here
// names a particular Kind or field: values of each field type come from the helpers below, so the suite
// works for any field list (no required fields, no string fields, a single field).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawOptions } from '../../src/config/config.ts';
import {
  type FieldDefinition,
  type Fields,
  isReadOnly,
  isWriteOnly,
} from '../../src/kinds/framework/fields.ts';
import type { KindDefinition } from '../../src/kinds/framework/kind.ts';
import { checkStream, documentChecked } from './contract-client.ts';
import { expectError } from './expectations.ts';
import {
  compareValues,
  edgeValues,
  escapeRegExp,
  literal,
  mismatchedLiterals,
  otherValue,
  presented,
  sameValue,
  sampleValue,
  sleep,
  timestampAtOffset,
  typeNames,
  wrongValues,
} from './field-values.ts';
import {
  describeReferenceContract,
  ReferencedResources,
  type ReferenceFactories,
} from './reference-contract.ts';
import { type ApiResponse, startTestService, type TestService } from './service.ts';
import { openSse, type SseMessage } from './sse.ts';

type Body = Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: resources are JSON whose shape the tests assert
type Json = any;

const apiBase = '/api/rh-trex/v1';
const ksuid = /^[0-9A-Za-z]{27}$/;
const rfc3339Millis = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const invalidFormat = /^Invalid request format: \S/;
// Generous: the machine running the tests may be small and busy. Polls never assert timing.
const deadlineMs = 15_000;

interface Counts {
  rows: number;
  events: number;
}

// Registers the whole contract suite of `kind` (its own service and database). `valid` returns a
// fresh valid POST body: every field but the references set to a valid value, string values unique
// per call. `references` gives, for each reference field, a valid body of the Kind it references: the
// suite creates such resources and sets the reference to one of them.
export interface ContractOptions {
  // Flags of the service under test (a Kind whose rules depend on configuration).
  readonly flags?: RawOptions;
  // Fields with rules beyond their type (a URL on an allow-list): the suite checks their type errors
  // and presence but never makes up values for them.
  readonly constrained?: readonly string[];
  // What each read-only field shows on a new resource (the service keeps them, and no write here
  // changes them); required for every read-only field of the Kind.
  readonly readOnlyValues?: Readonly<Record<string, unknown>>;
}

export function describeKindContract<F extends Fields>(
  kind: KindDefinition<F>,
  valid: () => object,
  references: ReferenceFactories = {},
  options: ContractOptions = {},
): void {
  // The per-field checks below apply to fields a client writes that hold values; reference-contract.ts
  // checks references. Read-only fields are shown with the values a new resource has, and ignored when
  // sent.
  const fields = Object.entries(kind.fields).filter(
    ([, field]) => field.type !== 'ref' && !isReadOnly(field),
  ) as [string, FieldDefinition][];
  const readOnlyValues = Object.fromEntries(
    Object.entries(kind.fields)
      .filter(([, field]) => isReadOnly(field))
      .map(([name]) => {
        if (!Object.hasOwn(options.readOnlyValues ?? {}, name)) {
          throw new Error(
            `${kind.name}.${name} is read-only: the contract needs its value on a new resource`,
          );
        }
        return [name, options.readOnlyValues?.[name]];
      }),
  );
  // What responses show (write-only fields are accepted and never shown), and the fields whose values
  // the suite makes up itself (constrained fields always take the values `valid` gives).
  const visible = fields.filter(([, field]) => !isWriteOnly(field));
  const exercised = visible.filter(([name]) => !(options.constrained ?? []).includes(name));
  const [firstField] = exercised;
  if (!firstField) throw new Error(`${kind.name} has no free value field: the contract needs at least one`);
  const [first, firstDefinition] = firstField;
  const referenced = new ReferencedResources(kind, references, () => service);
  const required = Object.entries(kind.fields).filter(([, field]) => field.required && !isReadOnly(field));
  // Optional fields a response shows (a write-only one, cleared, shows nothing to check).
  const optional = visible.filter(([, field]) => !field.required);
  const collection = `${apiBase}/${kind.plural}`;
  const itemPath = (id: string): string => `${collection}/${id}`;
  const listKind = `${kind.name}List`;
  const notFound = (id: string): string => `${kind.name} with id='${id}' not found`;
  // Marks the string values this run writes; starts with a letter so upper and lower case differ.
  const tag = `t${randomBytes(4).toString('hex')}`;
  let sequence = 0;
  const unique = (what: string): string => `${tag} ${what} ${++sequence}`;
  const unknownField = Object.hasOwn(kind.fields, 'no_such_field') ? 'no_such_field_2' : 'no_such_field';
  const otherUnknownField = `${unknownField}_either`;

  const validBody = (): Body => ({ ...(valid() as Body), ...referenced.values() });
  // Only the required fields of a valid body (`{}` for a Kind with none).
  const requiredOnly = (): Body => {
    const body = validBody();
    return Object.fromEntries(required.map(([name]) => [name, body[name]]));
  };
  const ids = (items: { id: string }[]): string[] => items.map((item) => item.id);
  const idsIn = (rows: { id: string }[]): string => `id in (${rows.map((row) => `'${row.id}'`).join(', ')})`;

  let service: TestService;

  // The representation of a resource created or patched to `values` (undefined fields: null).
  function expectResource(resource: Json, values: Body): void {
    expect(resource).toEqual({
      id: expect.stringMatching(ksuid),
      kind: kind.name,
      href: itemPath(resource?.id),
      ...Object.fromEntries(visible.map(([name, field]) => [name, presented(field.type, values[name])])),
      ...readOnlyValues,
      ...referenced.presented(values),
      created_at: expect.stringMatching(rfc3339Millis),
      updated_at: expect.stringMatching(rfc3339Millis),
    });
  }

  async function post(body: unknown, headers?: Record<string, string>): Promise<ApiResponse> {
    return await service.api(collection, { method: 'POST', body, headers });
  }

  async function patch(id: string, body: unknown, headers?: Record<string, string>): Promise<ApiResponse> {
    return await service.api(itemPath(id), { method: 'PATCH', body, headers });
  }

  async function create(values: Body = validBody()): Promise<Json> {
    const response = await post(values);
    expect(response.status, response.text).toBe(201);
    return response.body;
  }

  async function patched(id: string, body: Body, headers?: Record<string, string>): Promise<ApiResponse> {
    const response = await patch(id, body, headers);
    expect(response.status, `PATCH ${JSON.stringify(body)}: ${response.text}`).toBe(200);
    return response;
  }

  async function fetchResource(id: string): Promise<ApiResponse> {
    const response = await service.api(itemPath(id));
    expect(response.status, response.text).toBe(200);
    return response;
  }

  // The events recorded for a resource: their types, sorted (several may share a creation instant).
  async function eventTypes(id: string): Promise<string[]> {
    const rows = await service.database.query<{ source: string; event_type: string }>(
      'select source, event_type from events where source_id = $1',
      [id],
    );
    for (const row of rows) expect(row.source).toBe(kind.eventSource);
    return rows.map((row) => row.event_type).sort();
  }

  async function counts(): Promise<Counts> {
    const [row] = await service.database.query<Counts>(
      `select (select count(*) from "${kind.plural}")::int as rows, (select count(*) from events)::int as events`,
    );
    if (!row) throw new Error('no counts');
    return row;
  }

  // Runs `send` and checks it added no row and no event.
  async function expectNothingWritten(send: () => Promise<void>): Promise<void> {
    const before = await counts();
    await send();
    expect(await counts()).toEqual(before);
  }

  // The stored row, its events and its API representation, to show a rejected request changed nothing.
  async function snapshot(id: string) {
    const [row] = await service.database.query(`select * from "${kind.plural}" where id = $1`, [id]);
    const events = await service.database.query('select id from events where source_id = $1 order by id', [
      id,
    ]);
    const resource = await service.api(itemPath(id));
    const { operation_id: _operationId, ...body } = resource.body ?? {};
    return { row, events, status: resource.status, etag: resource.headers.get('etag'), resource: body };
  }

  async function list(params: Record<string, string>): Promise<Json> {
    const response = await service.api(`${collection}?${new URLSearchParams(params)}`);
    expect(response.status, `${new URLSearchParams(params)}: ${response.text}`).toBe(200);
    expect(response.body.kind).toBe(listKind);
    return response.body;
  }

  async function listError(params: Record<string, string>): Promise<ApiResponse> {
    return await service.api(`${collection}?${new URLSearchParams(params)}`);
  }

  describe(`${kind.name}: the Kind contract (docs/api.md)`, () => {
    beforeAll(async () => {
      // Every response the suite sees is checked against the OpenAPI document as well.
      service = documentChecked(await startTestService(options.flags));
      await referenced.create();
    });
    afterAll(async () => {
      await service?.stop();
    });

    describe('POST and GET (docs/api.md#routes-of-a-kind)', () => {
      it('POST answers 201 with Location, ETag and every field, and records a Create event', async () => {
        const values = validBody();
        const response = await post(values);
        expect(response.status, response.text).toBe(201);
        const resource = response.body;
        expectResource(resource, values);
        expect(resource.updated_at).toBe(resource.created_at);
        expect(response.headers.get('location')).toBe(resource.href);
        expect(response.headers.get('etag')).toMatch(/^"[^"]+"$/);
        expect(await eventTypes(resource.id)).toEqual(['Create']);
        const [row] = await service.database.query(`select * from "${kind.plural}" where id = $1`, [
          resource.id,
        ]);
        expect(row?.deleted_at).toBeNull();
      });

      it('GET answers the representation POST gave, with the same ETag; If-None-Match gives 304', async () => {
        const response = await post(validBody());
        expect(response.status).toBe(201);
        const got = await fetchResource(response.body.id);
        expect(got.body).toEqual(response.body);
        expect(got.headers.get('etag')).toBe(response.headers.get('etag'));
        const notModified = await service.api(itemPath(response.body.id), {
          headers: { 'if-none-match': response.headers.get('etag') ?? '' },
        });
        expect(notModified.status).toBe(304);
        expect(notModified.text).toBe('');
        const stale = await service.api(itemPath(response.body.id), {
          headers: { 'if-none-match': '"other"' },
        });
        expect(stale.status).toBe(200);
      });

      it('accepts a trailing slash on the collection and on an item', async () => {
        const created = await create();
        expect((await fetchResource(`${created.id}/`)).body).toEqual(created);
        const values = validBody();
        const response = await service.api(`${collection}/`, { method: 'POST', body: values });
        expect(response.status, response.text).toBe(201);
        expectResource(response.body, values);
        const listed = await service.api(
          `${collection}/?${new URLSearchParams({ search: idsIn([created]) })}`,
        );
        expect(listed.status).toBe(200);
        expect(listed.body.items).toEqual([created]);
      });

      it('ignores read-only fields a client sends back, and an empty id', async () => {
        const values = validBody();
        const response = await post({
          ...values,
          id: '',
          kind: 'Other',
          href: '/elsewhere',
          created_at: '2000-01-01T00:00:00Z',
          updated_at: 'not even a time',
          ...Object.fromEntries(Object.keys(readOnlyValues).map((name) => [name, { not: 'even a value' }])),
        });
        expect(response.status, response.text).toBe(201);
        expectResource(response.body, values);
        expect(response.body.created_at).not.toBe('2000-01-01T00:00:00.000Z');
        if (Object.keys(readOnlyValues).length > 0) {
          const sent = Object.fromEntries(Object.keys(readOnlyValues).map((name) => [name, 12345]));
          const patchedBack = await patched(response.body.id, sent);
          expectResource(patchedBack.body, values);
        }
      });

      it('POST with only the required fields answers 201 with every optional field null', async () => {
        const values = requiredOnly();
        const response = await post(values);
        expect(response.status, response.text).toBe(201);
        expectResource(response.body, values);
        expect((await fetchResource(response.body.id)).body).toEqual(response.body);
      });

      if (optional.length > 0) {
        it('POST with the optional fields null answers 201 with them null', async () => {
          const values = { ...validBody(), ...Object.fromEntries(optional.map(([name]) => [name, null])) };
          const response = await post(values);
          expect(response.status, response.text).toBe(201);
          expectResource(response.body, values);
          expect((await fetchResource(response.body.id)).body).toEqual(response.body);
        });
      }

      it('stores values at the edges of each type, zero values included, and shows them identically', async () => {
        const edges = exercised.map(
          ([name, field]) => [name, edgeValues(field.type, field.required)] as const,
        );
        const count = Math.max(...edges.map(([, values]) => values.length));
        const created: { resource: Json; values: Body }[] = [];
        for (let index = 0; index < count; index++) {
          const values = {
            ...validBody(),
            ...Object.fromEntries(edges.map(([name, values]) => [name, values[index % values.length]])),
          };
          const response = await post(values);
          expect(response.status, `${JSON.stringify(values).slice(0, 300)}: ${response.text}`).toBe(201);
          expectResource(response.body, values);
          expect((await fetchResource(response.body.id)).body).toEqual(response.body);
          created.push({ resource: response.body, values });
        }
        // Each value is found by an equality search, as it was sent.
        const scope = idsIn(created.map(({ resource }) => resource));
        for (const [name, field] of exercised) {
          for (const { values } of created) {
            const search = `${name} = ${literal(field.type, values[name])} and ${scope}`;
            const body = await list({ search });
            const expected = created.filter((other) =>
              sameValue(field.type, other.values[name], values[name]),
            );
            expect(ids(body.items).sort(), search.slice(0, 300)).toEqual(
              ids(expected.map(({ resource }) => resource)).sort(),
            );
          }
        }
      });

      it('POST with an Idempotency-Key: a retry answers the first response and creates nothing; another body is 409 code 6 (docs/events.md#idempotent-creates)', async () => {
        const headers = { 'idempotency-key': `${tag}-key-${++sequence}` };
        const values = validBody();
        const original = await post(values, headers);
        expect(original.status, original.text).toBe(201);
        const different = {
          ...values,
          [first]: otherValue(firstDefinition.type, values[first], unique('idempotency')),
        };
        await expectNothingWritten(async () => {
          const retry = await post(values, headers);
          expect(retry.status, retry.text).toBe(201);
          expect(retry.body).toEqual(original.body);
          expect(retry.headers.get('location')).toBe(original.body.href);
          expectError(await post(different, headers), 409, 6);
        });
        expect(await eventTypes(original.body.id)).toEqual(['Create']);
      });

      it('GET of an unknown id answers 404 code 7', async () => {
        for (const id of ['x', 'no-such-id', '2zWzXyb4Wzn3Qs3Y6qoVUVOlPJg']) {
          expectError(await service.api(itemPath(id)), 404, 7, notFound(id));
        }
      });
    });

    describe('bad bodies (docs/api.md#request-bodies): the documented error, and nothing written', () => {
      it('POST and PATCH with a non-JSON Content-Type: 415 code 13', async () => {
        const created = await create();
        const before = await snapshot(created.id);
        await expectNothingWritten(async () => {
          for (const contentType of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded']) {
            const body = JSON.stringify(validBody());
            expectError(await post(body, { 'content-type': contentType }), 415, 13);
            expectError(await patch(created.id, body, { 'content-type': contentType }), 415, 13);
          }
        });
        expect(await snapshot(created.id)).toEqual(before);
      });

      const malformed: [string, () => string][] = [
        ['an empty body', () => ''],
        ['invalid JSON', () => '{'],
        ['truncated JSON', () => JSON.stringify(validBody()).slice(0, -1)],
        ['a JSON array', () => '[]'],
        ['an array holding a valid body', () => JSON.stringify([validBody()])],
        ['a JSON string', () => '"text"'],
        ['a JSON number', () => '42'],
        ['JSON null', () => 'null'],
      ];
      for (const [description, text] of malformed) {
        it(`POST and PATCH (live and unknown id) with ${description}: 400 code 17`, async () => {
          const created = await create();
          const before = await snapshot(created.id);
          await expectNothingWritten(async () => {
            expectError(await post(text()), 400, 17, invalidFormat);
            for (const id of [created.id, 'no-such-id']) {
              expectError(await patch(id, text()), 400, 17, invalidFormat);
            }
          });
          expect(await snapshot(created.id)).toEqual(before);
        });
      }

      it('POST and PATCH with an unknown field: 400 code 8 naming it', async () => {
        const created = await create();
        const before = await snapshot(created.id);
        const reason = `unknown field '${unknownField}'`;
        await expectNothingWritten(async () => {
          expectError(await post({ ...validBody(), [unknownField]: 'x' }), 400, 8, reason);
          for (const id of [created.id, 'no-such-id']) {
            expectError(await patch(id, { [unknownField]: 'x' }), 400, 8, reason);
            expectError(await patch(id, { ...validBody(), [unknownField]: 1 }), 400, 8, reason);
          }
          const several = await post({ ...validBody(), [unknownField]: 1, [otherUnknownField]: 2 });
          expectError(several, 400, 8);
          expect(several.body.reason).toContain(`'${unknownField}'`);
          expect(several.body.reason).toContain(`'${otherUnknownField}'`);
          // Field names are case-sensitive.
          const shouted = first.toUpperCase();
          if (!Object.hasOwn(kind.fields, shouted)) {
            const response = await post({ ...validBody(), [shouted]: validBody()[first] });
            expectError(response, 400, 8, `unknown field '${shouted}'`);
          }
        });
        expect(await snapshot(created.id)).toEqual(before);
      });

      for (const [name, field] of fields) {
        for (const [description, value] of wrongValues(field.type)) {
          const reason = `${name} must be ${typeNames[field.type]}`;
          it(`${name} (${field.type}) as ${description}: 400 code 8 '${reason}' for POST and PATCH`, async () => {
            const created = await create();
            const before = await snapshot(created.id);
            await expectNothingWritten(async () => {
              expectError(await post({ ...validBody(), [name]: value }), 400, 8, reason);
              for (const id of [created.id, 'no-such-id']) {
                expectError(await patch(id, { [name]: value }), 400, 8, reason);
              }
            });
            expect(await snapshot(created.id)).toEqual(before);
          });
        }
      }

      for (const [name, field] of required) {
        const missing = field.type === 'string' ? 'missing, null or ""' : 'missing or null';
        it(`POST with ${name} ${missing}: 400 code 8 '${name} is required'`, async () => {
          await expectNothingWritten(async () => {
            const { [name]: _dropped, ...rest } = validBody();
            expectError(await post(rest), 400, 8, `${name} is required`);
            expectError(await post({ ...validBody(), [name]: null }), 400, 8, `${name} is required`);
            if (field.type === 'string') {
              expectError(await post({ ...validBody(), [name]: '' }), 400, 8, `${name} is required`);
            }
          });
        });
      }

      it("POST with a non-empty id: 400 code 8 'id must be empty'", async () => {
        await expectNothingWritten(async () => {
          for (const id of ['abc', '2zWzXyb4Wzn3Qs3Y6qoVUVOlPJg', 7]) {
            expectError(await post({ ...validBody(), id }), 400, 8, 'id must be empty');
          }
        });
      });
    });

    describe('PATCH (docs/api.md#patch)', () => {
      for (const [name, field] of exercised) {
        it(`changing ${name} answers 200 with the new value, bumps updated_at and the ETag, and records an Update event`, async () => {
          const response = await post(validBody());
          expect(response.status).toBe(201);
          const created = response.body;
          const value = otherValue(field.type, created[name], unique('changed'));
          await sleep(5);
          const changed = await patched(created.id, { [name]: value });
          expect(changed.body).toEqual({
            ...created,
            [name]: presented(field.type, value),
            updated_at: expect.stringMatching(rfc3339Millis),
          });
          expect(changed.body.updated_at > created.updated_at, changed.body.updated_at).toBe(true);
          expect(changed.headers.get('etag')).toMatch(/^"[^"]+"$/);
          expect(changed.headers.get('etag')).not.toBe(response.headers.get('etag'));
          const got = await fetchResource(created.id);
          expect(got.body).toEqual(changed.body);
          expect(got.headers.get('etag')).toBe(changed.headers.get('etag'));
          expect(await eventTypes(created.id)).toEqual(['Create', 'Update']);
        });
      }

      for (const [name, field] of optional) {
        it(`${name} (optional) set to null answers 200 with null, and back to a value`, async () => {
          const created = await create();
          const cleared = await patched(created.id, { [name]: null });
          expect(cleared.body).toEqual({
            ...created,
            [name]: null,
            updated_at: expect.stringMatching(rfc3339Millis),
          });
          expect((await fetchResource(created.id)).body).toEqual(cleared.body);
          expect(await eventTypes(created.id)).toEqual(['Create', 'Update']);
          // Null again changes nothing.
          expect((await patched(created.id, { [name]: null })).body).toEqual(cleared.body);
          expect(await eventTypes(created.id)).toEqual(['Create', 'Update']);
          const free = exercised.some(([other]) => other === name);
          const value = free ? sampleValue(field.type, 4, unique('restored')) : validBody()[name];
          const restored = await patched(created.id, { [name]: value });
          expect(restored.body[name]).toEqual(presented(field.type, value));
          expect(await eventTypes(created.id)).toEqual(['Create', 'Update', 'Update']);
        });
      }

      it('an unchanged PATCH answers 200 with the stored row: no write, no event, the same ETag', async () => {
        const values = validBody();
        const response = await post(values);
        expect(response.status).toBe(201);
        const created = response.body;
        const etag = response.headers.get('etag');
        const before = await snapshot(created.id);
        // The same instants written at another offset are the same values.
        const reexpressed = Object.fromEntries(
          visible.map(([name, field]) => [
            name,
            field.type === 'time' && created[name] !== null
              ? timestampAtOffset(Date.parse(created[name]), -180)
              : created[name],
          ]),
        );
        await sleep(5);
        for (const body of [{}, values, created, reexpressed, { [first]: created[first] }]) {
          const unchanged = await patched(created.id, body);
          expect(unchanged.body, JSON.stringify(body)).toEqual(created);
          expect(unchanged.headers.get('etag')).toBe(etag);
        }
        expect(await snapshot(created.id)).toEqual(before);
        expect(await eventTypes(created.id)).toEqual(['Create']);
      });

      for (const [name, field] of required) {
        const cases: [unknown, string][] = [[null, `${name} cannot be null`]];
        if (field.type === 'string') cases.push(['', `${name} cannot be empty`]);
        it(`${name} (required) set to ${field.type === 'string' ? 'null or ""' : 'null'}: 400 code 8, on live and unknown ids`, async () => {
          const created = await create();
          const before = await snapshot(created.id);
          await expectNothingWritten(async () => {
            for (const [value, reason] of cases) {
              for (const id of [created.id, 'no-such-id']) {
                expectError(await patch(id, { [name]: value }), 400, 8, reason);
              }
            }
          });
          expect(await snapshot(created.id)).toEqual(before);
        });
      }

      it("PATCH may send back the row's own id, but not another: 400 code 8 'id cannot be changed'", async () => {
        const created = await create();
        expect((await patched(created.id, { id: created.id })).body).toEqual(created);
        const before = await snapshot(created.id);
        await expectNothingWritten(async () => {
          const value = otherValue(firstDefinition.type, created[first], unique('id'));
          const response = await patch(created.id, { id: 'another-id', [first]: value });
          expectError(response, 400, 8, 'id cannot be changed');
        });
        expect(await snapshot(created.id)).toEqual(before);
      });

      it('validates before the lookup: a bad body on an unknown id is 400, a good one 404 code 7', async () => {
        const [, wrong] = wrongValues(firstDefinition.type)[0] as [string, unknown];
        await expectNothingWritten(async () => {
          expectError(await patch('no-such-id', { [first]: wrong }), 400, 8);
          expectError(await patch('no-such-id', { [unknownField]: 1 }), 400, 8);
          expectError(await patch('no-such-id', { id: 'another-id' }), 400, 8, 'id cannot be changed');
          expectError(await patch('no-such-id', validBody()), 404, 7, notFound('no-such-id'));
          expectError(await patch('no-such-id', {}), 404, 7, notFound('no-such-id'));
        });
      });

      it('If-Match with the current ETag applies; a stale one is 412 code 12 and changes nothing', async () => {
        const response = await post(validBody());
        const created = response.body;
        const original = response.headers.get('etag') ?? '';
        const value = otherValue(firstDefinition.type, created[first], unique('if-match'));
        const changed = await patched(created.id, { [first]: value }, { 'if-match': original });
        const current = changed.headers.get('etag') ?? '';
        expect(current).not.toBe(original);
        const before = await snapshot(created.id);
        await expectNothingWritten(async () => {
          const back = { [first]: created[first] };
          expectError(await patch(created.id, back, { 'if-match': original }), 412, 12);
          expectError(await patch(created.id, back, { 'if-match': `W/${current}` }), 412, 12);
          const deleted = await service.api(itemPath(created.id), {
            method: 'DELETE',
            headers: { 'if-match': original },
          });
          expectError(deleted, 412, 12);
        });
        expect(await snapshot(created.id)).toEqual(before);
        const removed = await service.api(itemPath(created.id), {
          method: 'DELETE',
          headers: { 'if-match': current },
        });
        expect(removed.status).toBe(204);
        expect(await eventTypes(created.id)).toEqual(['Create', 'Delete', 'Update']);
      });
    });

    describe('DELETE and methods (docs/api.md#routes-of-a-kind)', () => {
      it('DELETE answers 204 with no body, soft-deletes, records a Delete event; then everything is 404', async () => {
        const created = await create();
        const response = await service.api(itemPath(created.id), { method: 'DELETE' });
        expect(response.status).toBe(204);
        expect(response.text).toBe('');
        expectError(await service.api(itemPath(created.id)), 404, 7, notFound(created.id));
        expect(await eventTypes(created.id)).toEqual(['Create', 'Delete']);
        const [row] = await service.database.query(`select deleted_at from "${kind.plural}" where id = $1`, [
          created.id,
        ]);
        expect(row?.deleted_at).toBeInstanceOf(Date);
        await expectNothingWritten(async () => {
          expectError(await patch(created.id, validBody()), 404, 7, notFound(created.id));
          expectError(
            await service.api(itemPath(created.id), { method: 'DELETE' }),
            404,
            7,
            notFound(created.id),
          );
          expectError(await service.api(itemPath('no-such-id'), { method: 'DELETE' }), 404, 7);
        });
        expect(await eventTypes(created.id)).toEqual(['Create', 'Delete']);
      });

      it('answers 405 code 10 with Allow for other methods on known paths', async () => {
        const created = await create();
        const cases = [
          { path: collection, method: 'PUT', allow: 'GET, POST, HEAD' },
          { path: collection, method: 'DELETE', allow: 'GET, POST, HEAD' },
          { path: collection, method: 'PATCH', allow: 'GET, POST, HEAD' },
          { path: itemPath(created.id), method: 'POST', allow: 'GET, PATCH, DELETE, HEAD' },
          { path: itemPath(created.id), method: 'PUT', allow: 'GET, PATCH, DELETE, HEAD' },
        ];
        await expectNothingWritten(async () => {
          for (const { path, method, allow } of cases) {
            const response = await service.api(path, { method, body: validBody() });
            expectError(response, 405, 10);
            expect(response.headers.get('allow'), `${method} ${path}`).toBe(allow);
          }
        });
        expect((await fetchResource(created.id)).body).toEqual(created);
      });
    });

    describe('lists and search (docs/api.md#lists, docs/search.md)', () => {
      // Five rows whose values are a different permutation of sample values for each field, so no
      // field's order is the creation order or another field's order.
      const permutation = [3, 1, 5, 2, 4];
      const prefix = `${tag} list`;
      const rows: Json[] = [];
      let nullRow: Json; // only the required fields set
      let scope: string; // `id in (...)`: the five rows and a deleted one with the values of rows[2]
      let scopeWithNull: string;

      beforeAll(async () => {
        const valuesOf = (k: number): Body => ({
          ...validBody(),
          ...Object.fromEntries(
            exercised.map(([name, field], j) => [
              name,
              sampleValue(field.type, permutation[(k + j) % permutation.length] as number, prefix),
            ]),
          ),
        });
        for (let k = 0; k < permutation.length; k++) {
          rows.push(await create(valuesOf(k)));
          await sleep(3); // distinct created_at
        }
        nullRow = await create(requiredOnly());
        const deleted = await create(valuesOf(2));
        expect((await service.api(itemPath(deleted.id), { method: 'DELETE' })).status).toBe(204);
        scope = idsIn([...rows, deleted]);
        scopeWithNull = idsIn([...rows, nullRow, deleted]);
      });

      describe('lists (docs/api.md#lists)', () => {
        it(`answers the ${listKind} envelope, in created_at order, without deleted rows`, async () => {
          expect(await list({ search: scope })).toEqual({
            kind: listKind,
            page: 1,
            size: 5,
            total: 5,
            items: rows,
          });
          const all = await list({ size: '65500' });
          expect(all.total).toBeGreaterThanOrEqual(7);
          expect(all.size).toBe(all.items.length);
          expect(ids(all.items)).toEqual(expect.arrayContaining(ids([...rows, nullRow])));
        });

        it('pages: size and page, a page past the end, size=0', async () => {
          const page = (number: number, size: number) =>
            list({ search: scope, page: String(number), size: String(size) });
          expect(await page(1, 2)).toEqual({
            kind: listKind,
            page: 1,
            size: 2,
            total: 5,
            items: rows.slice(0, 2),
          });
          expect(await page(2, 2)).toEqual({
            kind: listKind,
            page: 2,
            size: 2,
            total: 5,
            items: rows.slice(2, 4),
          });
          expect(await page(3, 2)).toEqual({
            kind: listKind,
            page: 3,
            size: 1,
            total: 5,
            items: rows.slice(4),
          });
          expect(await page(4, 2)).toEqual({ kind: listKind, page: 4, size: 0, total: 5, items: [] });
          expect(await list({ search: scope, size: '0' })).toEqual({
            kind: listKind,
            page: 1,
            size: 0,
            total: 5,
            items: [],
          });
          expect(await list({ search: scope, page: '', size: '', orderBy: '', fields: '' })).toEqual({
            kind: listKind,
            page: 1,
            size: 5,
            total: 5,
            items: rows,
          });
          const badParams: Record<string, string>[] = [
            { page: '0' },
            { page: 'x' },
            { size: '-1' },
            { size: '1.5' },
          ];
          for (const params of badParams) {
            expectError(await listError({ search: scope, ...params }), 400, 21);
          }
        });

        for (const [name, field] of exercised) {
          it(`orderBy ${name} (${field.type}), ascending and descending`, async () => {
            const cases: [string, 1 | -1][] = [
              [name, 1],
              [`${name} asc`, 1],
              [`${name} DESC`, -1],
              [`${kind.plural}.${name} desc`, -1],
            ];
            for (const [orderBy, direction] of cases) {
              const body = await list({ search: scope, orderBy });
              expect(body.total).toBe(5);
              expect([...ids(body.items)].sort()).toEqual([...ids(rows)].sort());
              if (field.type === 'bool') {
                // Two values: ties come in id order, which depends on the collation; check the values.
                const values = body.items.map((item: Json) => item[name]);
                const sorted = [...values].sort((a, b) => direction * compareValues('bool', a, b));
                expect(values, orderBy).toEqual(sorted);
              } else {
                const expected = [...rows].sort(
                  (a, b) => direction * compareValues(field.type, a[name], b[name]),
                );
                expect(ids(body.items), orderBy).toEqual(ids(expected));
              }
            }
          });
        }

        it('orderBy created_at desc and several terms', async () => {
          expect(ids((await list({ search: scope, orderBy: 'created_at desc' })).items)).toEqual(
            ids([...rows].reverse()),
          );
          const [lastName, last] = exercised.at(-1) as [string, FieldDefinition];
          const body = await list({ search: scope, orderBy: `${lastName} desc, created_at asc` });
          const expected = [...rows].sort(
            (a, b) =>
              -compareValues(last.type, a[lastName], b[lastName]) ||
              Date.parse(a.created_at) - Date.parse(b.created_at),
          );
          expect(ids(body.items)).toEqual(ids(expected));
        });

        it("a bad orderBy: 400 code 21 bad order value '<item>'", async () => {
          const cases: [string, string][] = [
            [`${first} sideways`, `${first} sideways`],
            [unknownField, unknownField],
            [`${first} asc, ${unknownField} desc`, `${unknownField} desc`],
            [`other_table.${first}`, `other_table.${first}`],
            [`${first}; drop table ${kind.plural}`, `${first}; drop table ${kind.plural}`],
          ];
          for (const [orderBy, item] of cases) {
            expectError(await listError({ search: scope, orderBy }), 400, 21, `bad order value '${item}'`);
          }
        });

        it(`fields=${first} returns only id and ${first}`, async () => {
          expect(await list({ search: scope, fields: first })).toEqual({
            kind: listKind,
            page: 1,
            size: 5,
            total: 5,
            items: rows.map((row) => ({ id: row.id, [first]: row[first] })),
          });
          const names = visible.map(([name]) => name);
          const body = await list({ search: scope, fields: [...names, 'created_at'].join(',') });
          expect(body.items).toEqual(
            rows.map((row) => ({
              id: row.id,
              created_at: row.created_at,
              ...Object.fromEntries(names.map((name) => [name, row[name]])),
            })),
          );
        });

        it('fields naming an unknown property: 400 code 8 naming it', async () => {
          const one = await listError({ search: scope, fields: `${first},${unknownField}` });
          expectError(one, 400, 8, new RegExp(`'${unknownField}'`));
          const two = await listError({ search: scope, fields: `${unknownField},${otherUnknownField}` });
          expectError(two, 400, 8);
          expect(two.body.reason).toContain(unknownField);
          expect(two.body.reason).toContain(otherUnknownField);
        });
      });

      describe('search (docs/search.md#the-search-language)', () => {
        for (const [name, field] of exercised) {
          it(`${name} = <${field.type}> finds exactly the rows with that value`, async () => {
            for (const row of rows) {
              const expected = rows.filter((other) => sameValue(field.type, other[name], row[name]));
              for (const reference of [name, `${kind.plural}.${name}`]) {
                const search = `${reference} = ${literal(field.type, row[name])} and ${scope}`;
                const body = await list({ search });
                expect(body.total, search).toBe(expected.length);
                expect([...ids(body.items)].sort(), search).toEqual([...ids(expected)].sort());
              }
            }
          });

          if (field.type === 'bool') {
            it(`${name} != and in on a bool; ordering operators are refused (400 code 21)`, async () => {
              for (const value of [true, false]) {
                const expected = rows.filter((row) => row[name] !== value);
                const body = await list({ search: `${name} != ${value} and ${scope}` });
                expect([...ids(body.items)].sort()).toEqual([...ids(expected)].sort());
              }
              expect((await list({ search: `${name} in (true, false) and ${scope}` })).total).toBe(5);
              for (const operator of ['<', '>=']) {
                expectError(await listError({ search: `${name} ${operator} true` }), 400, 21);
              }
            });
          } else {
            it(`${name} compares in ${field.type} order: <, <=, >, >=, !=, between, in`, async () => {
              const sorted = [...rows].sort((a, b) => compareValues(field.type, a[name], b[name]));
              const value = (index: number): unknown => (sorted[index] as Json)[name];
              const cmp = (row: Json, index: number): number =>
                compareValues(field.type, row[name], value(index));
              const lit = (index: number): string => literal(field.type, value(index));
              const cases: [string, (row: Json) => boolean][] = [
                [`${name} < ${lit(2)}`, (row) => cmp(row, 2) < 0],
                [`${name} <= ${lit(2)}`, (row) => cmp(row, 2) <= 0],
                [`${name} > ${lit(2)}`, (row) => cmp(row, 2) > 0],
                [`${name} >= ${lit(2)}`, (row) => cmp(row, 2) >= 0],
                [`${name} != ${lit(2)}`, (row) => cmp(row, 2) !== 0],
                [`${name} <> ${lit(2)}`, (row) => cmp(row, 2) !== 0],
                [`${name} between ${lit(1)} and ${lit(3)}`, (row) => cmp(row, 1) >= 0 && cmp(row, 3) <= 0],
                [`${name} not between ${lit(1)} and ${lit(3)}`, (row) => cmp(row, 1) < 0 || cmp(row, 3) > 0],
                [`${name} in (${lit(0)}, ${lit(4)})`, (row) => cmp(row, 0) === 0 || cmp(row, 4) === 0],
                [`${name} not in (${lit(0)}, ${lit(4)})`, (row) => cmp(row, 0) !== 0 && cmp(row, 4) !== 0],
                [`not ${name} = ${lit(2)}`, (row) => cmp(row, 2) !== 0],
              ];
              for (const [condition, matches] of cases) {
                const search = `${condition} and ${scope}`;
                const expected = rows.filter(matches);
                const body = await list({ search });
                expect([...ids(body.items)].sort(), search).toEqual([...ids(expected)].sort());
              }
            });
          }

          it(`${name} is null and is not null`, async () => {
            const isNull = await list({ search: `${name} is null and ${scopeWithNull}` });
            expect(ids(isNull.items)).toEqual(field.required ? [] : [nullRow.id]);
            const notNull = await list({ search: `${name} is not null and ${scopeWithNull}` });
            expect(ids(notNull.items)).toEqual(ids(field.required ? [...rows, nullRow] : rows));
          });

          if (field.type === 'string') {
            it(`${name} like and ilike match text patterns`, async () => {
              const upper = tag.toUpperCase();
              const like = async (operator: string, pattern: string) =>
                (await list({ search: `${name} ${operator} ${literal('string', pattern)} and ${scope}` }))
                  .items;
              expect(ids(await like('like', `${prefix}%`))).toEqual(ids(rows));
              expect(ids(await like('like', `${upper}%`))).toEqual([]);
              expect(ids(await like('ilike', `${upper}%`))).toEqual(ids(rows));
              expect(ids(await like('not like', `${prefix}%`))).toEqual([]);
              const target = rows[1] as Json;
              const suffix = (target[name] as string).slice(-6);
              expect(ids(await like('like', `%${suffix}`))).toEqual([target.id]);
              expect(ids(await like('like', `%${suffix.slice(0, 1)}_${suffix.slice(2)}`))).toEqual([
                target.id,
              ]);
            });
          } else {
            it(`${name} like: 400 code 21 (like applies to text)`, async () => {
              expectError(await listError({ search: `${name} like '1%'` }), 400, 21);
            });
          }

          it(`${name} compared with a value of another type: 400 code 21`, async () => {
            for (const value of mismatchedLiterals(field.type)) {
              const response = await listError({ search: `${name} = ${value}` });
              expectError(
                response,
                400,
                21,
                new RegExp(`^Invalid search query: '${escapeRegExp(name)}' needs `),
              );
            }
          });
        }

        it('an unknown field, or a field of another table: 400 code 21', async () => {
          expectError(
            await listError({ search: `${unknownField} = 'x'` }),
            400,
            21,
            `Invalid search query: unknown field '${unknownField}' at position 0`,
          );
          for (const search of [`other_table.${first} is null`, `${kind.plural}.${first}.x is null`]) {
            expectError(await listError({ search }), 400, 21, /^Invalid search query: /);
          }
        });

        it("a syntax error: 400 code 21 'Failed to parse search query: <search>'", async () => {
          for (const search of [
            `(${first} is null`,
            `${first} is`,
            `${first} = 'unterminated`,
            `${first} && 1`,
            `${first} is null and`,
          ]) {
            const response = await listError({ search });
            expectError(
              response,
              400,
              21,
              new RegExp(`^Failed to parse search query: ${escapeRegExp(search)}`),
            );
          }
        });
      });
    });

    describe('events and controllers (docs/events.md)', () => {
      // The event of `eventType` for `id`, through the events API, once it is reconciled.
      async function reconciled(id: string, eventType: string): Promise<Json> {
        const search = `source_id = '${id}' and event_type = '${eventType}'`;
        const deadline = Date.now() + deadlineMs;
        for (;;) {
          const response = await service.api(`${apiBase}/events?${new URLSearchParams({ search })}`);
          expect(response.status, response.text).toBe(200);
          // The event committed with the change: it exists at once.
          expect(response.body.total, `the ${eventType} event of ${id}`).toBe(1);
          const [event] = response.body.items;
          if (event.reconciled_date !== null) return event;
          if (Date.now() > deadline) {
            throw new Error(
              `the ${eventType} event of ${id} was not reconciled within ${deadlineMs} ms: ${JSON.stringify(event)}`,
            );
          }
          await sleep(50);
        }
      }

      it(
        'the controller manager reconciles the Create, Update and Delete events of a resource',
        async () => {
          const created = await create();
          const expected = (eventType: string) => ({
            kind: 'Event',
            source: kind.eventSource,
            source_id: created.id,
            event_type: eventType,
            reconciled_date: expect.stringMatching(rfc3339Millis),
            failed_at: null,
          });
          expect(await reconciled(created.id, 'Create')).toMatchObject(expected('Create'));
          await patched(created.id, {
            [first]: otherValue(firstDefinition.type, created[first], unique('event')),
          });
          expect(await reconciled(created.id, 'Update')).toMatchObject(expected('Update'));
          expect((await service.api(itemPath(created.id), { method: 'DELETE' })).status).toBe(204);
          expect(await reconciled(created.id, 'Delete')).toMatchObject(expected('Delete'));
        },
        4 * deadlineMs,
      );

      it('a watch streams ADDED, MODIFIED and DELETED with the resource each change left', async () => {
        const token = await service.keys.mint();
        const stream = await openSse(`${service.apiUrl}${collection}?watch=true`, {
          authorization: `Bearer ${token}`,
        });
        checkStream(collection, stream);
        try {
          const created = await create();
          const value = otherValue(firstDefinition.type, created[first], unique('watched'));
          const changed = (await patched(created.id, { [first]: value })).body;
          expect((await service.api(itemPath(created.id), { method: 'DELETE' })).status).toBe(204);
          const parse = (message: SseMessage) => ({ ...message, data: JSON.parse(message.data) });
          const mine = () =>
            stream.messages.map(parse).filter((message) => message.data.object?.id === created.id);
          await stream.waitUntil(() => mine().length >= 3, `three changes of ${created.id}`, deadlineMs);
          expect(mine().map((message) => [message.event, message.data.type, message.data.object])).toEqual([
            ['ADDED', 'ADDED', created],
            ['MODIFIED', 'MODIFIED', changed],
            ['DELETED', 'DELETED', changed],
          ]);
          const events = await service.database.query<{ id: string }>(
            'select id from events where source_id = $1',
            [created.id],
          );
          expect(
            mine()
              .map((message) => message.id)
              .sort(),
          ).toEqual(events.map((event) => event.id).sort());
        } finally {
          stream.close();
        }
      });

      for (const [name, field] of exercised) {
        it(`a watch searching on ${name} streams only the changes that match`, async () => {
          const wanted = validBody();
          const unwanted = {
            ...validBody(),
            [name]: otherValue(field.type, wanted[name], unique('unwatched')),
          };
          const search = `${name} = ${literal(field.type, wanted[name])}`;
          const token = await service.keys.mint();
          const stream = await openSse(
            `${service.apiUrl}${collection}?${new URLSearchParams({ watch: 'true', search })}`,
            { authorization: `Bearer ${token}` },
          );
          try {
            expect(stream.status).toBe(200);
            checkStream(collection, stream);
            // Stream order is commit order: once the later change arrives, the earlier one would have.
            const skipped = await create(unwanted);
            const matched = await create(wanted);
            const objects = () => stream.messages.map((message) => JSON.parse(message.data).object);
            await stream.waitUntil(
              () => objects().some((object) => object?.id === matched.id),
              `the change of ${matched.id}`,
              deadlineMs,
            );
            expect(ids(objects())).toEqual([matched.id]);
            expect(ids(objects())).not.toContain(skipped.id);
          } finally {
            stream.close();
          }
        });
      }
    });

    describeReferenceContract({ kind, service: () => service, validBody, referenced });
  });
}
