// Property-based fuzzing of every operation of the OpenAPI document (docs/openapi.md, docs/errors.md):
// for each path and method the service serves, requests made from the document itself, with path ids
// valid-looking and hostile, declared query parameters with values of their type and of every other
// kind, undeclared ones, the headers the API reads (Content-Type, If-Match, If-None-Match,
// Idempotency-Key, Accept-Encoding, X-Operation-ID, Authorization) and bodies derived from the request
// schema (valid, required properties missing, wrong types, nulls, extra properties, deep nesting, huge
// strings, JSON that is no object, text that is no JSON). Whatever is sent, the service never answers
// 5xx, answers only what the document declares for the operation (status, headers, body), sends every
// error as the Error body whose code has the answer's status in the catalogue and whose operation_id
// is the X-Operation-ID header, and loses no data: resources the fuzz never addresses are unchanged,
// the ones it addresses are as its successful writes left them, and nothing is written beside.
// Nothing here names a Kind, a path or a field: a Kind `trex generate` adds is fuzzed as it is served.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../src/app/openapi-document.ts';
import { findErrorEntry } from '../../src/errors/catalogue.ts';
import { DocumentContract } from '../support/contract-client.ts';
import { type Exchange, exchange, type Reply } from '../support/http-exchange.ts';
import {
  exampleUrlHosts,
  type JsonSchema,
  jsonTypes,
  type Reference,
  referenceOf,
  SchemaDocument,
  suspiciousStrings,
  valueOfType,
} from '../support/schema-values.ts';
import { serviceForFile } from '../support/service.ts';

type Body = Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: resources are JSON whose shape the document checks
type Json = any;

const built = JSON.parse(JSON.stringify(await buildOpenApiDocument())) as Record<string, unknown>;
const schemas = new SchemaDocument(built);
const contract = new DocumentContract(built);
const operationIdFormat = /^[A-Za-z0-9._-]{1,64}$/;
const bodyLimit = 1024 * 1024; // the default --http-body-limit
const runsPerOperation = 30;

interface Parameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly schema: JsonSchema;
}

interface Operation {
  readonly id: string;
  readonly method: string;
  readonly path: string; // the template
  readonly parameters: readonly Parameter[];
  readonly body: JsonSchema | undefined; // the request body's schema, resolved
  readonly itemSchema: JsonSchema | undefined; // what its 200 shows (a list: an item), for query values
}

const operations: Operation[] = Object.entries(built.paths as Record<string, Record<string, Json>>).flatMap(
  ([path, item]) =>
    Object.entries(item).map(([method, operation]): Operation => {
      const json = operation.requestBody?.content?.['application/json']?.schema;
      const ok = operation.responses?.['200']?.content?.['application/json']?.schema;
      const shown = ok ? schemas.resolve(ok) : undefined;
      const items = (shown?.properties as Record<string, JsonSchema> | undefined)?.items?.items as
        | JsonSchema
        | undefined;
      return {
        id: operation.operationId,
        method: method.toUpperCase(),
        path,
        parameters: operation.parameters ?? [],
        body: json ? schemas.resolve(json) : undefined,
        itemSchema: items ? schemas.resolve(items) : shown,
      };
    }),
);
// Deletes last, so the resources they remove were there for every other operation.
operations.sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));

// Fields the service keeps on its own (read-only scalars its background work moves, as a webhook's
// delivery health): a resource the fuzz leaves alone may show them changed, with a new ETag. Every other
// field (a reference to a related resource too) is as the fuzz's writes left it.
const refersTo = (schema: JsonSchema): boolean =>
  [schema, ...((schema.anyOf ?? []) as JsonSchema[])].some((each) => each.type === 'object');
const requestOwned = new Set(['id', 'kind', 'href', 'created_at', 'updated_at']);
const serviceOwned = new Map<string, string[]>(
  operations
    .filter((operation) => operation.method === 'GET' && /^\/[^{}]+\/\{[^}]+\}$/.test(operation.path))
    .map((operation): [string, string[]] => [
      operation.path.replace(/\/\{[^}]+\}$/, ''),
      Object.entries((operation.itemSchema?.properties ?? {}) as Record<string, JsonSchema>)
        .filter(([name, schema]) => schema.readOnly === true && !requestOwned.has(name) && !refersTo(schema))
        .map(([name]) => name),
    ]),
);
const split = (collection: string, body: Json): { written: Json; kept: Json } => {
  const owned = serviceOwned.get(collection) ?? [];
  return {
    written: Object.fromEntries(Object.entries(body).filter(([name]) => !owned.includes(name))),
    kept: Object.fromEntries(Object.entries(body).filter(([name]) => owned.includes(name))),
  };
};

const createOf = (collection: string): Operation | undefined =>
  operations.find(
    (operation) => operation.method === 'POST' && operation.path === collection && operation.body,
  );
const segments = (path: string): string[] => path.split('/').slice(1);

const service = serviceForFile({ webhookAllowedHosts: exampleUrlHosts(built).join(',') });
let token: string;
let expiredToken: string;

// What the fuzz may touch and what it must not: per collection that has a create operation, targets
// (their ids are the valid ids of the fuzz) with their last known representation and ETag, and
// sentinels, created beforehand and never addressed, which must come out unchanged.
interface Known {
  body: Json;
  etag: string;
  deleted: boolean;
  events: number; // the events its writes recorded
}
const targets = new Map<string, Map<string, Known>>(); // collection → id → state
const sentinels = new Map<string, Json[]>(); // collection → representations
const created = new Map<string, Set<string>>(); // collection → ids the fuzz created
const referenced = new Map<string, string[]>(); // collection → ids references take
const initialTotals = new Map<string, number>();
const combinations = new Map<string, string[][]>(); // template → valid values of its path parameters
const succeeded = new Map<string, number>(); // operation id → 2xx answers

const auth = (value = token): Record<string, string> => ({ authorization: `Bearer ${value}` });

async function send(outgoing: Exchange): Promise<Reply> {
  return await exchange(service.apiUrl, outgoing);
}

async function createResource(collection: string, body: Body): Promise<Reply> {
  const reply = await send({
    method: 'POST',
    path: collection,
    headers: { ...auth(), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(reply.status, `POST ${collection}: ${reply.text}`).toBe(201);
  return reply;
}

// Ids of resources a reference takes: made once per referenced collection, never addressed.
async function referenceIds(reference: Reference, depth = 0): Promise<string[]> {
  const known = referenced.get(reference.collection);
  if (known) return known;
  if (depth > 5) throw new Error(`references cycle through ${reference.collection}`);
  const create = createOf(reference.collection);
  if (!create?.body)
    throw new Error(`x-trex-reference to ${reference.collection}, where nothing can be made`);
  const ids: string[] = [];
  for (let n = 0; n < 2; n++)
    ids.push((await createResource(create.path, await validBody(create.body, depth + 1))).json.id);
  referenced.set(reference.collection, ids);
  return ids;
}

const valueOptions = {
  reference: (reference: Reference) =>
    fc.constantFrom(...(referenced.get(reference.collection) ?? ['unprepared'])),
};

async function prepareReferences(schema: JsonSchema, depth = 0): Promise<void> {
  for (const property of Object.values((schema.properties ?? {}) as Record<string, JsonSchema>)) {
    const reference = referenceOf(schemas.resolve(property));
    if (reference) await referenceIds(reference, depth);
  }
}

let seed = 11;
async function validBody(schema: JsonSchema, depth = 0): Promise<Body> {
  await prepareReferences(schema, depth);
  const [body] = fc.sample(schemas.values(schema, valueOptions), { numRuns: 1, seed: seed++ });
  return body as Body;
}

async function listIds(path: string): Promise<string[]> {
  const reply = await send({ method: 'GET', path: `${path}?size=20`, headers: auth() });
  expect(reply.status, `GET ${path}: ${reply.text}`).toBe(200);
  return (reply.json.items as Json[]).map((item) => String(item.id));
}

// Valid values of the path parameters of `template`, together: each parameter names an item of the
// collection before it (the fuzz's targets, where that collection has a create operation; else what
// it lists), a few per collection.
async function validCombinations(template: string): Promise<string[][]> {
  const parts = segments(template);
  let combos: string[][] = [[]];
  for (const [index, part] of parts.entries()) {
    if (!part.startsWith('{')) continue;
    const collection = `/${parts.slice(0, index).join('/')}`;
    const next: string[][] = [];
    for (const combo of combos.slice(0, 3)) {
      let n = 0;
      const path = `/${parts
        .slice(0, index)
        .map((segment) => (segment.startsWith('{') ? (combo[n++] as string) : segment))
        .join('/')}`;
      const ids = targets.has(collection)
        ? [...(targets.get(collection)?.keys() ?? [])]
        : await listIds(path);
      next.push(...ids.map((id) => [...combo, id]));
    }
    combos = next;
  }
  return combos;
}

beforeAll(async () => {
  token = await service.keys.mint();
  expiredToken = await service.keys.mint({ exp: Math.floor(Date.now() / 1000) - 3600 });
  const served = await send({ method: 'GET', path: '/api/rh-trex/v1/openapi' });
  expect(served.json, 'the document served is the one this test derives from').toEqual(built);
  for (const create of operations.filter((operation) => operation.method === 'POST' && operation.body)) {
    const mine = new Map<string, Known>();
    const kept: Json[] = [];
    for (let n = 0; n < 5; n++) {
      const reply = await createResource(create.path, await validBody(create.body as JsonSchema));
      if (n < 3)
        mine.set(reply.json.id, {
          body: reply.json,
          etag: String(reply.headers.etag),
          deleted: false,
          events: 1,
        });
      else kept.push(reply.json);
    }
    targets.set(create.path, mine);
    sentinels.set(create.path, kept);
    created.set(create.path, new Set());
  }
  for (const collection of targets.keys()) initialTotals.set(collection, await total(collection));
  for (const operation of operations)
    combinations.set(operation.path, await validCombinations(operation.path));
}, 60_000);

async function total(collection: string): Promise<number> {
  const reply = await send({ method: 'GET', path: `${collection}?size=0`, headers: auth() });
  expect(reply.status, reply.text).toBe(200);
  return reply.json.total;
}

// ---------------------------------------------------------------------------------------------------
// Generators

const printable = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));
const latin1 = fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code));
// Text meant to hurt: injections, Unicode, controls, NUL, huge and empty.
const hostileText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...suspiciousStrings) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  {
    weight: 2,
    arbitrary: fc.string({ unit: 'binary', maxLength: 12 }).filter((text) => !/\p{Cs}/u.test(text)),
  },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\u0000', 'a\u0000b', '\t', '\u202e', '🦖', 'é') },
  // Long: past the router's 4096 characters for an id, yet within the 16 KiB request head once encoded.
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.tuple(fc.constantFrom('a', '9', '.'), fc.integer({ min: 1_000, max: 6_000 })),
        fc.tuple(fc.constantFrom('é', '%', "'", '🦖'), fc.integer({ min: 100, max: 600 })),
      )
      .map(([unit, length]) => unit.repeat(length)),
  },
);
// Percent-encoded as UTF-8; a lone surrogate, which UTF-8 cannot hold, as U+FFFD.
const encoded = (text: string): string => encodeURIComponent(Buffer.from(text, 'utf8').toString('utf8'));
// The request head stays under the service's limit: what lies beyond it is the edge's (fuzz-edge).
const headroom = 12_000;

// A path parameter: a valid value, an id of the right shape that names nothing, or hostile text.
function pathValue(pool: readonly string[]): fc.Arbitrary<string> {
  const ksuidLike = fc.string({
    unit: fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'),
    minLength: 27,
    maxLength: 27,
  });
  return fc.oneof(
    ...(pool.length > 0 ? [{ weight: 6, arbitrary: fc.constantFrom(...pool) }] : []),
    { weight: 2, arbitrary: ksuidLike },
    { weight: 3, arbitrary: hostileText.filter((text) => text !== '') },
    { weight: 1, arbitrary: fc.constantFrom('.', '..', '0', '-1', 'null', 'undefined', '*', '%2F') },
  );
}

// What a query string holds: the declared parameters, with values of their schema or anything else,
// and undeclared ones.
function queryArbitrary(operation: Operation): fc.Arbitrary<[string, string][]> {
  const declared = operation.parameters.filter((parameter) => parameter.in === 'query');
  // Names the answer shows (a list: its items), so orders, projections and searches sometimes work.
  const names = Object.keys((operation.itemSchema?.properties ?? {}) as Record<string, unknown>);
  const wordy = names.length
    ? fc.oneof(
        fc.constantFrom(...names),
        fc.tuple(fc.constantFrom(...names), fc.constantFrom(' asc', ' desc', '')).map(([a, b]) => `${a}${b}`),
        fc.array(fc.constantFrom(...names), { minLength: 1, maxLength: 3 }).map((list) => list.join(',')),
        fc
          .tuple(
            fc.constantFrom(...names),
            fc.constantFrom("= 'x'", 'is null', 'is not null', "like '%'", '> 1'),
          )
          .map(([name, condition]) => `${name} ${condition}`),
      )
    : fc.constant('id');
  const wrongTyped = fc.constantFrom(
    'abc',
    '1.5',
    '-1',
    '0',
    '1e3',
    '0x10',
    '9'.repeat(40),
    'true',
    'NaN',
    '[]',
    '{}',
  );
  const parameterValue = (parameter: Parameter): fc.Arbitrary<string> =>
    fc.oneof(
      {
        weight: 4,
        arbitrary: schemas
          .values(parameter.schema)
          .map((value) => (typeof value === 'string' ? value : JSON.stringify(value))),
      },
      { weight: 2, arbitrary: wordy },
      { weight: 2, arbitrary: wrongTyped },
      { weight: 2, arbitrary: hostileText },
    );
  const pair: fc.Arbitrary<[string, string]> = fc.oneof(
    ...declared.map((parameter) => ({
      weight: 4,
      arbitrary: parameterValue(parameter).map((value): [string, string] => [parameter.name, value]),
    })),
    {
      weight: 1,
      arbitrary: fc.tuple(
        fc.oneof(
          fc.constantFrom('a[]', 'page[0]', 'PAGE', '__proto__', 'constructor', ''),
          fc.string({ maxLength: 8 }),
        ),
        fc.oneof(wordy, hostileText),
      ),
    },
  );
  return fc.array(pair, { maxLength: declared.length > 0 ? 5 : 2 });
}

const ABSENT = '\u0001absent\u0001'; // the header is not sent
const ETAG = '\u0001etag\u0001'; // the current ETag of the addressed target
const headerText = fc.string({
  unit: fc.oneof({ weight: 9, arbitrary: printable }, { weight: 1, arbitrary: latin1 }),
  maxLength: 40,
});
const header = (...specials: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constant(ABSENT) },
    { weight: 2, arbitrary: fc.constantFrom(...specials) },
    { weight: 1, arbitrary: headerText },
  );

function headersArbitrary(operation: Operation): fc.Arbitrary<Record<string, string>> {
  const declared = operation.parameters.filter((parameter) => parameter.in === 'header');
  return fc.record({
    ...Object.fromEntries(
      declared.map((parameter) => [parameter.name, header(ETAG, `W/${ETAG}`, '*', '"x"', 'k-1', '')]),
    ),
    'content-type': fc.oneof(
      { weight: 10, arbitrary: fc.constant('application/json') },
      {
        weight: 4,
        arbitrary: header(
          'application/merge-patch+json',
          'application/json; charset=utf-8',
          'Application/JSON',
          'application/json; charset=latin1',
          'text/plain',
          'application/xml',
          'multipart/form-data; boundary=x',
          'application/x-www-form-urlencoded',
          'application/json;',
          '',
        ),
      },
    ),
    'if-match': header(ETAG, `W/${ETAG}`, '*', '"x"', `"x", ${ETAG}`, ''),
    'if-none-match': header(ETAG, `W/${ETAG}`, '*', '"x"', ''),
    'idempotency-key': header('k', 'key-1', 'x'.repeat(255), 'x'.repeat(256), 'has space', ''),
    'accept-encoding': header(
      'gzip',
      'br',
      'deflate',
      'identity',
      '*',
      'gzip;q=0, br;q=0, identity;q=0',
      'zstd',
      'br;q=abc',
    ),
    'x-operation-id': header('op-1', 'x'.repeat(64), 'x'.repeat(65), 'has space', '../../etc/passwd', ''),
    authorization: fc.oneof(
      { weight: 12, arbitrary: fc.constant('valid') },
      {
        weight: 1,
        arbitrary: fc.constantFrom('none', 'expired', 'Bearer', 'Bearer a.b.c', 'Basic dXNlcjpwYXNz'),
      },
    ),
  }) as fc.Arbitrary<Record<string, string>>;
}

// Bodies from the request schema, most of them nearly valid, so that each mistake meets a body that
// would otherwise pass; and text that is no JSON object at all.
function bodyArbitrary(schema: JsonSchema): fc.Arbitrary<string> {
  const properties = Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>);
  const names = properties.map(([name]) => name);
  const required = (schema.required ?? []) as string[];
  const valid = schemas.values(schema, valueOptions) as fc.Arbitrary<Body>;
  const name = names.length ? fc.constantFrom(...names) : fc.constant('x');
  const replaced = (value: fc.Arbitrary<unknown>): fc.Arbitrary<string> =>
    fc.tuple(valid, name, value).map(([body, key, v]) => JSON.stringify({ ...body, [key]: v }));
  const wrongType = fc.tuple(valid, fc.constantFrom(...properties)).chain(([body, [key, property]]) => {
    const types = schemas.admittedTypes(property);
    const wrong = jsonTypes.filter((type) => types && !types.has(type));
    return wrong.length === 0
      ? fc.constant(JSON.stringify(body))
      : fc.constantFrom(...wrong).map((type) => JSON.stringify({ ...body, [key]: valueOfType[type] }));
  });
  const nested = fc
    .tuple(valid, name, fc.integer({ min: 20, max: 5_000 }), fc.boolean())
    .map(([body, key, depth, arrays]) => {
      const deep = arrays
        ? `${'['.repeat(depth)}${']'.repeat(depth)}`
        : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      return JSON.stringify({ ...body, [key]: '\u0001deep\u0001' }).replace('"\\u0001deep\\u0001"', deep);
    });
  return fc.oneof(
    { weight: 8, arbitrary: valid.map((body) => JSON.stringify(body)) },
    {
      weight: required.length ? 2 : 0,
      arbitrary: fc
        .tuple(valid, fc.constantFrom(...(required.length ? required : ['x'])))
        .map(([body, key]) => {
          const { [key]: _dropped, ...rest } = body;
          return JSON.stringify(rest);
        }),
    },
    { weight: 3, arbitrary: properties.length ? wrongType : valid.map((body) => JSON.stringify(body)) },
    { weight: 2, arbitrary: replaced(fc.constant(null)) },
    { weight: 2, arbitrary: replaced(fc.oneof(hostileText, fc.jsonValue({ maxDepth: 3 }))) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          valid,
          fc.oneof(fc.string({ minLength: 1, maxLength: 10 }), fc.constantFrom('__proto__', 'constructor')),
          fc.jsonValue({ maxDepth: 2 }),
        )
        .filter(([, key]) => !names.includes(key))
        .map(([body, key, value]) =>
          JSON.stringify(body)
            .replace(/^\{/, `{${JSON.stringify(key)}:${JSON.stringify(value)},`)
            .replace(',}', '}'),
        ),
    },
    { weight: 1, arbitrary: nested },
    // A property twice (JSON.parse keeps the last).
    {
      weight: 1,
      arbitrary: fc
        .tuple(valid, name, fc.jsonValue({ maxDepth: 1 }))
        .map(([body, key, first]) =>
          `{${JSON.stringify(key)}:${JSON.stringify(first)},${JSON.stringify(body).slice(1)}`.replace(
            ',}',
            '}',
          ),
        ),
    },
    {
      weight: 1,
      arbitrary: replaced(
        fc
          .tuple(fc.constantFrom('a', 'é', '🦖'), fc.integer({ min: 10_000, max: 300_000 }))
          .map(([unit, n]) => unit.repeat(n)),
      ),
    },
    { weight: 1, arbitrary: valid.map((body) => JSON.stringify({ ...body, pad: 'x'.repeat(bodyLimit) })) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.constantFrom(
          '',
          ' ',
          '{',
          '}',
          '[',
          'null',
          '[]',
          '"text"',
          '42',
          'true',
          '{}x',
          "{'a':1}",
          '\ufeff{}',
          'nul',
        ),
        fc
          .jsonValue({ maxDepth: 2 })
          .filter((value) => typeof value !== 'object' || value === null || Array.isArray(value))
          .map((value) => JSON.stringify(value)),
        valid.map((body) => JSON.stringify(body).slice(0, -1)),
        fc.string({ unit: 'binary', maxLength: 20 }),
      ),
    },
  );
}

// ---------------------------------------------------------------------------------------------------
// What every answer must be

function expectDeclared(outgoing: Exchange, reply: Reply, operation: Operation): void {
  const context = `${outgoing.method} ${outgoing.path.slice(0, 200)} → ${reply.status} ${reply.text.slice(0, 300)}`;
  expect(reply.status, context).toBeLessThan(500);
  contract.check({
    method: outgoing.method,
    path: Buffer.from(outgoing.path, 'latin1').toString('utf8'),
    status: reply.status,
    header: (name) => {
      const value = reply.headers[name.toLowerCase()];
      return value === undefined ? undefined : String(value);
    },
    headerNames: Object.keys(reply.headers),
    text: reply.text,
  });
  const operationId = String(reply.headers['x-operation-id'] ?? '');
  expect(operationId, context).toMatch(operationIdFormat);
  // HTTP trims spaces and tabs around a header value (OWS), not other white space such as U+00A0.
  const sent = outgoing.headers?.['x-operation-id']?.replace(/^[ \t]+|[ \t]+$/g, '');
  if (sent !== undefined && operationIdFormat.test(sent)) expect(operationId, context).toBe(sent);
  if (reply.status >= 400) {
    // The Error body (the document's schema was checked above) with the header's operation id, its
    // code sent with the status the catalogue gives it.
    expect(reply.json?.operation_id, context).toBe(operationId);
    const entry = findErrorEntry(Number(reply.json?.id));
    expect(entry, `${context}: no such code in the catalogue`).toBeDefined();
    expect(reply.json?.code, context).toBe(`rh-trex-${entry?.code}`);
    expect(entry?.httpStatus, `${context}: code ${entry?.code} goes with another status`).toBe(reply.status);
  }
  if (reply.status < 300) succeeded.set(operation.id, (succeeded.get(operation.id) ?? 0) + 1);
}

// The state the fuzz knows after an answer: what a write to a target did, what a create made.
function record(
  operation: Operation,
  collection: string | undefined,
  id: string | undefined,
  reply: Reply,
): void {
  if (operation.method === 'POST' && reply.status === 201) created.get(operation.path)?.add(reply.json.id);
  const known = collection && id !== undefined ? targets.get(collection)?.get(id) : undefined;
  if (!collection || !known) return;
  if (operation.method === 'PATCH' && reply.status === 200) {
    // A patch that changes nothing answers the row as it was, and records no event.
    const now = split(collection, reply.json).written;
    const before = split(collection, known.body).written;
    if (JSON.stringify(now) !== JSON.stringify(before)) known.events += 1;
    known.body = reply.json;
    known.etag = String(reply.headers.etag);
  }
  if (operation.method === 'DELETE' && reply.status === 204) {
    known.deleted = true;
    known.events += 1;
  }
}

// ---------------------------------------------------------------------------------------------------

describe('every operation of the document', () => {
  for (const operation of operations) {
    it(`${operation.method} ${operation.path} (${operation.id}): never 5xx, only what the document declares`, async () => {
      await prepareReferences(operation.body ?? {});
      const parts = segments(operation.path);
      const params = parts.filter((part) => part.startsWith('{'));
      // The collection whose items the last parameter names, when the fuzz holds targets there.
      const itemOf = `/${parts.slice(0, -1).join('/')}`;
      const collection =
        params.length && parts.at(-1)?.startsWith('{') && targets.has(itemOf) ? itemOf : undefined;
      const combos = combinations.get(operation.path) ?? [];
      const column = (i: number): string[] => [...new Set(combos.map((combo) => combo[i] as string))];
      const arbitrary = fc.record({
        values: fc.oneof(
          ...(combos.length > 0 ? [fc.constantFrom(...combos)] : []),
          fc.tuple(...params.map((_, i) => pathValue(column(i)))),
        ),
        query: queryArbitrary(operation),
        headers: headersArbitrary(operation),
        body: operation.body ? bodyArbitrary(operation.body) : fc.constant(undefined),
      });
      // First a request that should succeed (valid ids and body, a token, no other header), so the
      // fuzz is never only refusals.
      const reachable = params.length === 0 || combos.length > 0;
      const plain = {
        values: combos[0] ?? [],
        query: [] as [string, string][],
        headers: {
          ...Object.fromEntries(
            operation.parameters.filter((p) => p.in === 'header').map((p) => [p.name, ABSENT]),
          ),
          'content-type': 'application/json',
          'if-match': ABSENT,
          'if-none-match': ABSENT,
          'idempotency-key': ABSENT,
          'accept-encoding': ABSENT,
          'x-operation-id': ABSENT,
          authorization: 'valid',
        },
        body: operation.body ? JSON.stringify(await validBody(operation.body)) : undefined,
      };
      await fc.assert(
        fc.asyncProperty(arbitrary, async ({ values, query, headers, body }) => {
          let path = operation.path;
          params.forEach((param, i) => {
            path = path.replace(param, encoded(values[i] as string));
          });
          const id = params.length ? (values[params.length - 1] as string) : undefined;
          const known = collection && id !== undefined ? targets.get(collection)?.get(id) : undefined;
          const pairs = query.map(([key, value]) => `${encoded(key)}=${encoded(value)}`);
          while (pairs.length > 0 && path.length + pairs.join('&').length > headroom) pairs.pop();
          const search = pairs.join('&');
          const sent: Record<string, string> = {};
          for (const [name, value] of Object.entries(headers)) {
            if (value === ABSENT || name === 'authorization') continue;
            if (name === 'content-type' && body === undefined) continue;
            sent[name] = value.replaceAll(ETAG, known?.etag ?? '"none"');
          }
          const authorization = headers.authorization;
          if (authorization === 'valid') Object.assign(sent, auth());
          else if (authorization === 'expired') Object.assign(sent, auth(expiredToken));
          else if (authorization !== 'none') sent.authorization = String(authorization);
          const outgoing: Exchange = {
            method: operation.method,
            path: search ? `${path}?${search}` : path,
            headers: sent,
            ...(body === undefined ? {} : { body: Buffer.from(body, 'utf8') }),
          };
          const reply = await send(outgoing);
          expectDeclared(outgoing, reply, operation);
          record(operation, collection, id, reply);
        }),
        { numRuns: runsPerOperation, examples: reachable ? [[plain]] : [] },
      );
      if (reachable)
        expect(succeeded.get(operation.id) ?? 0, `${operation.id} never succeeded`).toBeGreaterThan(0);
    }, 60_000);
  }

  it('lost no data: untouched resources are unchanged, addressed ones as the writes left them, nothing else written', async () => {
    for (const [collection, kept] of sentinels) {
      for (const resource of kept) {
        const reply = await send({ method: 'GET', path: resource.href, headers: auth() });
        expect(reply.status, reply.text).toBe(200);
        expect(split(collection, reply.json).written).toEqual(split(collection, resource).written);
      }
      for (const [id, known] of targets.get(collection) ?? []) {
        const reply = await send({ method: 'GET', path: `${collection}/${id}`, headers: auth() });
        if (known.deleted) {
          expect(reply.status, reply.text).toBe(404);
          continue;
        }
        expect(reply.status, reply.text).toBe(200);
        const now = split(collection, reply.json);
        const last = split(collection, known.body);
        expect(now.written).toEqual(last.written);
        // The tag moves with the representation: with the service's own fields only when they moved.
        if (JSON.stringify(now.kept) === JSON.stringify(last.kept))
          expect(reply.headers.etag).toBe(known.etag);
        else expect(reply.headers.etag).not.toBe(known.etag);
      }
      // Each resource has the events of the writes that succeeded, and no other.
      const expected = new Map<string, number>([
        ...kept.map((resource): [string, number] => [resource.id, 1]),
        ...[...(created.get(collection) ?? [])].map((id): [string, number] => [id, 1]),
        ...[...(targets.get(collection) ?? [])].map(([id, known]): [string, number] => [id, known.events]),
      ]);
      const rows = await service.database.query<{ source_id: string; n: number }>(
        'select source_id, count(*)::int as n from events where source_id = any($1) group by source_id',
        [[...expected.keys()]],
      );
      expect(Object.fromEntries(rows.map((row) => [row.source_id, row.n])), `${collection}: events`).toEqual(
        Object.fromEntries(expected),
      );
      const deleted = [...(targets.get(collection)?.values() ?? [])].filter((known) => known.deleted).length;
      const live = (initialTotals.get(collection) ?? 0) - deleted + (created.get(collection)?.size ?? 0);
      expect(await total(collection), `${collection}: rows`).toBe(live);
    }
    const health = await fetch(`${service.healthUrl}/healthcheck`);
    expect(health.status).toBe(200);
  });
});
