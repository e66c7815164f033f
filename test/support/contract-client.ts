import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Middleware } from 'openapi-fetch';
import { parse } from 'yaml';
import { createTrexClient, type TrexClient } from '../../src/client/client.ts';

// The typed client (src/client) as the tests use it: the compiler checks each call against the types
// generated from openapi/openapi.yaml, and every response is checked at run time against the same
// document: its status must be documented for the operation, its documented headers present, its
// content type documented, and a JSON body valid against the documented schema, with every object
// closed (a property the document does not list fails). A drift between the server and the document
// fails the test that meets it.

interface MediaType {
  schema?: object;
}
interface DocumentedResponse {
  headers?: Record<string, unknown>;
  content?: Record<string, MediaType>;
}
interface Document {
  paths: Record<string, Record<string, { responses: Record<string, DocumentedResponse> }>>;
  components: { schemas: Record<string, object> };
}

const documentUrl = new URL('../../openapi/openapi.yaml', import.meta.url);

function loadDocument(): Document {
  const document = parse(readFileSync(documentUrl, 'utf8')) as Document;
  for (const schema of Object.values(document.components.schemas)) closeObjects(schema);
  return document;
}

// Objects that list their properties and say nothing of others get `additionalProperties: false`.
function closeObjects(schema: unknown): void {
  if (Array.isArray(schema)) {
    for (const item of schema) closeObjects(item);
    return;
  }
  if (typeof schema !== 'object' || schema === null) return;
  const record = schema as Record<string, unknown>;
  if (record.type === 'object' && record.properties && record.additionalProperties === undefined) {
    record.additionalProperties = false;
  }
  for (const [key, value] of Object.entries(record)) {
    if (key !== 'examples' && key !== 'example') closeObjects(value);
  }
}

const document = loadDocument();
const ajv = new Ajv2020({ strict: false, validateSchema: false, allErrors: true });
// A CommonJS module: its default export is a property of what ESM imports.
addFormats.default(ajv);
// OpenAPI's number formats: annotations here, the types already say what matters.
for (const format of ['int32', 'int64', 'double']) ajv.addFormat(format, true);
ajv.addSchema(document, 'openapi');

const pointer = (...parts: string[]): string =>
  parts.map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

async function checkResponse(request: Request, response: Response, schemaPath: string): Promise<void> {
  const method = request.method.toLowerCase();
  const where = `${request.method} ${schemaPath} answered ${response.status}`;
  const operation = document.paths[schemaPath]?.[method];
  if (!operation) throw new Error(`${request.method} ${schemaPath} is not in the OpenAPI document`);
  const status = String(response.status);
  const documented = operation.responses[status];
  if (!documented) throw new Error(`${where}, a status the OpenAPI document does not list`);
  for (const header of Object.keys(documented.headers ?? {})) {
    if (!response.headers.has(header)) throw new Error(`${where} without the documented ${header} header`);
  }
  const body = await response.clone().text();
  if (!documented.content) {
    if (body !== '') throw new Error(`${where} with a body the OpenAPI document does not describe`);
    return;
  }
  const type = response.headers.get('content-type')?.split(';')[0]?.trim() ?? '';
  if (!documented.content[type]) throw new Error(`${where} with undocumented Content-Type '${type}'`);
  if (type !== 'application/json') return;
  const validate = ajv.getSchema(
    `openapi#/${pointer('paths', schemaPath, method, 'responses', status, 'content', type, 'schema')}`,
  );
  if (!validate) throw new Error(`${where}: no schema to check the body with`);
  if (!validate(JSON.parse(body))) {
    throw new Error(
      `${where} with a body that does not match the document: ${ajv.errorsText(validate.errors)}`,
    );
  }
}

const contractCheck: Middleware = {
  async onResponse({ request, response, schemaPath }) {
    await checkResponse(request, response, schemaPath);
  },
};

// A typed client of the service at `baseUrl` whose every response is checked against the document.
export function contractClient(baseUrl: string, token?: string): TrexClient {
  const client = createTrexClient({ baseUrl, token });
  client.use(contractCheck);
  return client;
}
