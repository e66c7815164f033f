// What the service accepts and what its OpenAPI document declares are the same (docs/openapi.md):
// for every operation of the document that takes a request body (every Kind's create and patch, and
// any Kind `trex generate` adds), each property's presence, JSON type, enum, format, pattern and bounds
// as the document states them decides acceptance exactly, an undeclared property is refused, and any
// body valid per the document, generated from its schema, is accepted. Nothing names a Kind or a field:
// everything comes from the document, built as the service builds it and checked equal to the one the
// service serves.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../src/app/openapi-document.ts';
import { DocumentContract, documentChecked } from '../support/contract-client.ts';
import { expectError } from '../support/expectations.ts';
import {
  exampleUrlHosts,
  hasRules,
  invalidOfFormat,
  type JsonSchema,
  jsonTypes,
  type Reference,
  referenceOf,
  SchemaDocument,
  valueOfType,
} from '../support/schema-values.ts';
import { type ApiResponse, startTestService, type TestService } from '../support/service.ts';

type Body = Record<string, unknown>;

const built = JSON.parse(JSON.stringify(await buildOpenApiDocument())) as Record<string, unknown>;
const schemas = new SchemaDocument(built);
const paths = built.paths as Record<string, Record<string, Record<string, unknown>>>;

interface Write {
  readonly id: string; // operationId
  readonly method: 'POST' | 'PATCH';
  readonly path: string; // template
  readonly schema: JsonSchema; // the request body's, resolved
  readonly pointer: string[]; // where the schema is, for its validator
}

const writes: Write[] = Object.entries(paths).flatMap(([path, item]) =>
  Object.entries(item).flatMap(([method, operation]): Write[] => {
    const content = (
      operation.requestBody as { content?: Record<string, { schema: JsonSchema }> } | undefined
    )?.content;
    const json = content?.['application/json'];
    if (!json) return [];
    if (method !== 'post' && method !== 'patch')
      throw new Error(`${method} ${path} takes a body: teach this test`);
    return [
      {
        id: String(operation.operationId),
        method: method === 'post' ? 'POST' : 'PATCH',
        path,
        schema: schemas.resolve(json.schema),
        pointer: ['paths', path, method, 'requestBody', 'content', 'application/json', 'schema'],
      },
    ];
  }),
);

// The collection a create posts to, for an item path `/things/{id}`, and the create operation there.
const createOf = (collection: string): Write | undefined =>
  writes.find((write) => write.method === 'POST' && write.path === collection);
const collectionOf = (itemPath: string): string => itemPath.replace(/\/\{[^}]+\}$/, '');

let service: TestService;
const idsOf = new Map<string, string[]>(); // collection → ids of resources the references may take

beforeAll(async () => {
  // Webhook targets must be on an operator's allow-list: the hosts of the document's example URLs are.
  const raw = await startTestService({ webhookAllowedHosts: exampleUrlHosts(built).join(',') });
  const served = await raw.api('/api/rh-trex/v1/openapi', { token: null });
  try {
    expect(served.body, 'the document served is the one this test derives from').toEqual(built);
  } catch (error) {
    await raw.stop();
    throw error;
  }
  // Every response is held to the document as well (status, headers, body).
  service = documentChecked(raw, new DocumentContract(built));
});
afterAll(async () => {
  await service?.stop();
});

// Ids of live resources of a referenced collection, created the first time they are asked for.
async function referenceIds(reference: Reference, depth = 0): Promise<string[]> {
  const known = idsOf.get(reference.collection);
  if (known) return known;
  const create = createOf(reference.collection);
  if (!create) throw new Error(`x-trex-reference to ${reference.collection}, where nothing can be created`);
  if (depth > 5) throw new Error(`references cycle through ${reference.collection}`);
  const ids: string[] = [];
  for (let n = 0; n < 2; n++) {
    const response = await post(create.path, await baseBody(create, depth + 1));
    expect(response.status, response.text).toBe(201);
    ids.push(response.body.id);
  }
  idsOf.set(reference.collection, ids);
  return ids;
}

// The references a schema holds, anywhere, resolved to ids before values are generated.
async function prepareReferences(schema: JsonSchema, depth = 0): Promise<void> {
  for (const property of Object.values((schema.properties ?? {}) as Record<string, JsonSchema>)) {
    const reference = referenceOf(schemas.resolve(property));
    if (reference) await referenceIds(reference, depth);
  }
}

const valueOptions = {
  reference: (reference: Reference) => {
    const ids = idsOf.get(reference.collection);
    if (!ids) throw new Error(`no resources of ${reference.collection} prepared`);
    return fc.constantFrom(...ids);
  },
};

// A value of `property` the document admits, the same on every run (seeded).
function sampleOf(property: JsonSchema, seed: number): unknown {
  const [value] = fc.sample(schemas.values(property, valueOptions), { numRuns: 1, seed });
  return value;
}

// A valid body: the required properties only, each with a value the document admits.
async function baseBody(write: Write, depth = 0): Promise<Body> {
  await prepareReferences(write.schema, depth);
  const properties = (write.schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = (write.schema.required ?? []) as string[];
  return Object.fromEntries(required.map((name, i) => [name, sampleOf(properties[name] ?? {}, 7 + i)]));
}

async function post(path: string, body: unknown): Promise<ApiResponse> {
  return await service.api(path, { method: 'POST', body });
}

// Where `write` sends its body: the collection, or a live resource created for the purpose.
async function target(write: Write): Promise<string> {
  if (write.method === 'POST') return write.path;
  const create = createOf(collectionOf(write.path));
  if (!create) throw new Error(`${write.id}: no create operation for ${collectionOf(write.path)}`);
  const created = await post(create.path, await baseBody(create));
  expect(created.status, created.text).toBe(201);
  return write.path.replace(/\{[^}]+\}$/, created.body.id);
}

const success = (write: Write): number => (write.method === 'POST' ? 201 : 200);
const show = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
};

for (const write of writes) {
  const properties = Object.entries((write.schema.properties ?? {}) as Record<string, JsonSchema>).map(
    ([name, property]) => [name, schemas.resolve(property)] as const,
  );
  const required = new Set((write.schema.required ?? []) as string[]);
  const closed = write.schema.additionalProperties === false;

  describe(`${write.method} ${write.path} (${write.id})`, () => {
    let path: string;
    let base: Body;
    const validate = schemas.validator(...write.pointer);
    const send = async (body: Body): Promise<ApiResponse> =>
      await service.api(path, { method: write.method, body });
    // `body` as the document judges it, then as the service does.
    const expectAccepted = async (body: Body, what: string): Promise<ApiResponse> => {
      expect(validate(body), `${what}: the document refuses ${show(body)}: ${schemas.errors(validate)}`).toBe(
        true,
      );
      const response = await send(body);
      expect(
        response.status,
        `${what}: the document accepts ${show(body)}, the service answered ${response.text}`,
      ).toBe(success(write));
      return response;
    };
    const expectRefused = async (body: Body, what: string): Promise<void> => {
      expect(validate(body), `${what}: the document accepts ${show(body)}`).toBe(false);
      const response = await send(body);
      expect(
        response.status,
        `${what}: the document refuses ${show(body)}, the service answered ${response.status}`,
      ).toBe(400);
      expectError(response, 400, 8);
    };

    beforeAll(async () => {
      path = await target(write);
      base = await baseBody(write);
    });

    it('a body valid per the document, generated from its schema, is accepted', async () => {
      await prepareReferences(write.schema);
      await fc.assert(
        fc.asyncProperty(schemas.values(write.schema, valueOptions), async (body) => {
          await expectAccepted(body as Body, 'a generated body');
        }),
        { numRuns: 25 },
      );
    });

    it(`an undeclared property is ${closed ? 'refused (400 code 8)' : 'accepted'}`, async () => {
      const declared = new Set(properties.map(([name]) => name));
      const names = fc
        .oneof(
          fc.string({ minLength: 1, maxLength: 12 }),
          fc.constantFrom('__proto__', 'constructor', 'toString', 'ID'),
        )
        .filter((name) => !declared.has(name));
      await fc.assert(
        fc.asyncProperty(names, fc.jsonValue({ maxDepth: 2 }), async (name, value) => {
          const body = JSON.parse(`{${JSON.stringify(name)}:${JSON.stringify(value)}}`) as Body;
          const whole = { ...base, ...body }; // spread: an own __proto__ stays a property
          if (closed) await expectRefused(whole, `undeclared ${name}`);
          else await expectAccepted(whole, `undeclared ${name}`);
        }),
        { numRuns: 8 },
      );
    });

    for (const [name, property] of properties) {
      const types = schemas.admittedTypes(property);
      const without = (): Body => {
        const { [name]: _dropped, ...rest } = base;
        return rest;
      };

      if (required.has(name)) {
        it(`${name} is required: missing → 400 code 8; present → accepted`, async () => {
          await expectRefused(without(), `${name} missing`);
          await expectAccepted(base, `${name} present`);
        });
      } else {
        it(`${name} is optional: absent → accepted`, async () => {
          await expectAccepted(without(), `${name} absent`);
        });
      }

      const wrong = jsonTypes.filter((type) => types !== undefined && !types.has(type));
      it(`${name} admits ${types ? [...types].join(', ') : 'any JSON value'}: ${wrong.length ? `${wrong.join(', ')} → 400 code 8; ` : ''}valid values accepted`, async () => {
        for (const type of wrong)
          await expectRefused({ ...base, [name]: valueOfType[type] }, `${name} as ${type}`);
        await prepareReferences(write.schema);
        await fc.assert(
          fc.asyncProperty(schemas.values(property, valueOptions), async (value) => {
            await expectAccepted({ ...base, [name]: value }, `${name} = ${show(value)}`);
          }),
          { numRuns: 6 },
        );
      });

      // Keywords that narrow a type: every member of an enum, the edges of bounds, formats, patterns.
      const narrowing = [
        property,
        ...(((property.anyOf ?? property.oneOf) as JsonSchema[] | undefined) ?? []),
      ];
      for (const schema of narrowing) {
        if (Array.isArray(schema.enum)) {
          const members = schema.enum as unknown[];
          it(`${name}: each enum member ${show(members)} accepted, a non-member refused`, async () => {
            for (const member of members)
              await expectAccepted({ ...base, [name]: member }, `${name} = ${show(member)}`);
            const strings = members.filter((member) => typeof member === 'string') as string[];
            const outsider = strings.length > 0 ? `${strings.join('')}-not-a-member` : 'not-a-member';
            await expectRefused({ ...base, [name]: outsider }, `${name} = ${outsider}`);
          });
        }
        if (typeof schema.format === 'string' && invalidOfFormat[schema.format]) {
          const format = schema.format;
          it(`${name}: format ${format}: a valid one accepted, invalid ones refused`, async () => {
            // A valid value from the generator (an example, where rules go beyond the schema).
            const valid = sampleOf(hasRules(property) ? property : schema, 3);
            await expectAccepted({ ...base, [name]: valid }, `${name} = ${show(valid)}, a ${format}`);
            for (const text of invalidOfFormat[format] ?? []) {
              await expectRefused({ ...base, [name]: text }, `${name} = '${text}', no ${format}`);
            }
          });
        }
        if (typeof schema.minimum === 'number' || typeof schema.maximum === 'number') {
          it(`${name}: bounds ${show([schema.minimum, schema.maximum])} accepted, one past them refused`, async () => {
            for (const bound of [schema.minimum, schema.maximum]) {
              if (typeof bound !== 'number') continue;
              await expectAccepted({ ...base, [name]: bound }, `${name} = ${bound}`);
              const past = bound === schema.minimum ? bound - 1 : bound + 1;
              // Past 2^53 a number has no neighbour: a larger step still leaves the range.
              const beyond = Number.isSafeInteger(past) ? past : bound * 2;
              await expectRefused({ ...base, [name]: beyond }, `${name} = ${beyond}`);
            }
          });
        }
        if (typeof schema.minLength === 'number' && schema.minLength > 0) {
          it(`${name}: shorter than ${schema.minLength} refused`, async () => {
            const short = 'x'.repeat(Number(schema.minLength) - 1);
            await expectRefused({ ...base, [name]: short }, `${name} = '${short}'`);
          });
        }
        if (typeof schema.pattern === 'string') {
          const pattern = new RegExp(schema.pattern, 'u');
          it(`${name}: a string the pattern ${schema.pattern} refuses is refused`, async () => {
            const candidates = ['\u0000', 'a\u0000b', '!', ',', 'x,,y', ' , ', 'Ünïcödé ✓', '\u2028'];
            const breaking = candidates.filter((text) => !pattern.test(text));
            expect(breaking.length, 'no candidate breaks the pattern: add one').toBeGreaterThan(0);
            for (const text of breaking)
              await expectRefused({ ...base, [name]: text }, `${name} = ${show(text)}`);
          });
        }
      }
    }
  });
}
