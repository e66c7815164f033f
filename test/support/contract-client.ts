import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Middleware } from 'openapi-fetch';
import { parse } from 'yaml';
import { createTrexClient, type TrexClient } from '../../src/client/client.ts';
import type { ApiResponse, TestService } from './service.ts';

// The OpenAPI document as the tests hold the service to it. Every response a test sees through
// contractClient (the typed client of src/client) or documentChecked (a TestService's `api`) is checked
// at run time against the document: the operation must be documented (a method a path does not serve:
// 405 with Allow; a path the document does not have: 404), its status documented for the operation,
// its documented headers present and no undocumented API header sent, its content type documented,
// and a JSON body valid against the documented schema with every object closed (a property the
// document does not list fails). A drift between the server and the document fails the test that
// meets it.

interface MediaType {
  schema?: object;
}
interface DocumentedResponse {
  headers?: Record<string, unknown>;
  content?: Record<string, MediaType>;
}
interface DocumentedOperation {
  responses: Record<string, DocumentedResponse>;
  security?: unknown[];
}
export interface OpenApiDocument {
  info: { description?: string };
  paths: Record<string, Record<string, DocumentedOperation>>;
  components: { schemas: Record<string, object> };
}

// A response as the checks read it.
export interface CheckedResponse {
  readonly method: string;
  readonly path: string; // as requested: may hold a query string and a trailing slash
  readonly status: number;
  readonly header: (name: string) => string | undefined;
  readonly headerNames: readonly string[];
  readonly text: string; // decoded
}

// Headers any response may carry without the operation declaring them: HTTP's own (RFC 9110, 9112),
// the browser protections every response carries, and what the document's introduction promises for
// every response (X-Operation-ID), for every 405 (Allow) and every 401 (WWW-Authenticate).
const undeclaredHeaders = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'date',
  'connection',
  'keep-alive',
  'vary',
  'cache-control',
  'x-content-type-options',
  'x-frame-options',
  'referrer-policy',
  'x-operation-id',
]);
const headersOfStatus: Readonly<Record<number, readonly string[]>> = {
  401: ['www-authenticate'],
  405: ['allow'],
};
// Asks proxies not to buffer an event stream: plumbing of server-sent events, not of the API.
const streamHeaders = ['x-accel-buffering'];

const documentUrl = new URL('../../openapi/openapi.yaml', import.meta.url);

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

const pointer = (...parts: string[]): string =>
  parts.map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

const segmentsOf = (path: string): string[] => {
  const bare = path.split('?')[0] ?? '';
  const trimmed = bare.length > 1 && bare.endsWith('/') ? bare.slice(0, -1) : bare;
  return trimmed.split('/').slice(1);
};

// The document as a list answers under `fields=`: its items carry only the chosen properties and id
// (the parameter's description), and a relation's object the chosen fields of the referenced row.
// Resources (schemas with an id) then require only the id, and no object is closed.
function projected(document: OpenApiDocument): OpenApiDocument {
  const copy = structuredClone(document);
  for (const schema of Object.values(copy.components.schemas) as Record<string, unknown>[]) {
    if ((schema.properties as Record<string, unknown> | undefined)?.id) schema.required = ['id'];
  }
  return copy;
}

const projectionOf = (path: string): boolean =>
  (new URLSearchParams(path.split('?')[1] ?? '').get('fields') ?? '').trim() !== '';

export class DocumentContract {
  readonly document: OpenApiDocument;
  private readonly ajv: Ajv2020;
  private readonly templates: { template: string; segments: string[]; params: number }[];

  // `document` is copied: its objects are closed for the checks.
  constructor(document: object) {
    this.document = structuredClone(document) as OpenApiDocument;
    const projection = projected(this.document);
    for (const schema of Object.values(this.document.components.schemas)) closeObjects(schema);
    this.ajv = new Ajv2020({ strict: false, validateSchema: false, allErrors: true });
    // A CommonJS module: its default export is a property of what ESM imports.
    addFormats.default(this.ajv);
    // OpenAPI's number formats: annotations here, the types already say what matters.
    for (const format of ['int32', 'int64', 'double']) this.ajv.addFormat(format, true);
    this.ajv.addSchema(this.document, 'openapi');
    this.ajv.addSchema(projection, 'projection');
    // Fixed segments before parameters: `/errors/{code}` never hides a fixed path of the same length.
    this.templates = Object.keys(this.document.paths)
      .map((template) => {
        const segments = segmentsOf(template);
        return { template, segments, params: segments.filter((part) => part.startsWith('{')).length };
      })
      .sort((a, b) => a.params - b.params);
  }

  // The document's path template a concrete path (percent-encoded, as sent) falls under.
  templateOf(path: string): string | undefined {
    const segments = segmentsOf(path);
    return this.templates.find(
      (candidate) =>
        candidate.segments.length === segments.length &&
        candidate.segments.every(
          (part, i) => (part.startsWith('{') && segments[i] !== '') || part === segments[i],
        ),
    )?.template;
  }

  // A validator of what the document declares at `parts` (a JSON pointer from its root).
  validator(...parts: string[]): ValidateFunction {
    return this.schemaAt('openapi', parts);
  }

  private schemaAt(document: 'openapi' | 'projection', parts: string[]): ValidateFunction {
    const validate = this.ajv.getSchema(`${document}#/${pointer(...parts)}`);
    if (!validate) throw new Error(`the document has no schema at /${parts.join('/')}`);
    return validate;
  }

  // Throws when `response` is not one the document declares.
  check(response: CheckedResponse): void {
    const where = `${response.method} ${response.path} answered ${response.status}`;
    const template = this.templateOf(response.path);
    if (template === undefined) {
      // A path the document does not have: the not-found Error.
      if (response.status !== 404) throw new Error(`${where}, for a path the OpenAPI document does not have`);
      this.checkError(response, where);
      return;
    }
    const method = response.method === 'HEAD' ? 'get' : response.method.toLowerCase();
    const operation = this.document.paths[template]?.[method];
    if (!operation) {
      // The document's introduction: a method a path does not serve is 405 with Allow; on a path whose
      // operations need a token, a request without one is refused that first (401).
      const item = Object.values(this.document.paths[template] ?? {});
      const secured = item.some((other) => (other.security ?? []).length > 0);
      const refused = response.status === 405 && response.header('allow') !== undefined;
      if (!refused && !(secured && response.status === 401)) {
        throw new Error(`${where}: ${response.method} ${template} is not in the OpenAPI document`);
      }
      this.checkError(response, where);
      return;
    }
    const status = String(response.status);
    const documented = operation.responses[status];
    if (!documented) throw new Error(`${where}, a status the OpenAPI document does not list for ${template}`);
    // Every documented header is sent, but one its schema marks optional (x-trex-optional: a list's Link,
    // after a full page only); one whose schema names a content type (x-trex-content-type: a list's
    // page, not its watch stream) comes with answers of that type alone.
    const type = response.header('content-type')?.split(';')[0]?.trim() ?? '';
    const declared = Object.entries(documented.headers ?? {}).flatMap(([name, header]) => {
      const schema = (header as { schema?: Record<string, unknown> }).schema ?? {};
      const only = schema['x-trex-content-type'];
      return only === undefined || only === type
        ? [{ name: name.toLowerCase(), required: schema['x-trex-optional'] !== true }]
        : [];
    });
    for (const { name } of declared.filter(({ required }) => required)) {
      if (response.header(name) === undefined)
        throw new Error(`${where} without the documented ${name} header`);
    }
    const allowed = new Set([
      ...undeclaredHeaders,
      ...declared.map(({ name }) => name),
      ...(headersOfStatus[response.status] ?? []),
      ...(type === 'text/event-stream' ? streamHeaders : []),
    ]);
    const extra = response.headerNames.filter((name) => !allowed.has(name.toLowerCase()));
    if (extra.length > 0)
      throw new Error(`${where} with headers the OpenAPI document does not declare: ${extra}`);
    if (response.method === 'HEAD' || !documented.content) {
      if (response.text !== '')
        throw new Error(`${where} with a body the OpenAPI document does not describe`);
      return;
    }
    if (!documented.content[type]) throw new Error(`${where} with undocumented Content-Type '${type}'`);
    if (type !== 'application/json') return;
    const projects = projectionOf(response.path) && this.declaresQuery(template, method, 'fields');
    const validate = this.schemaAt(projects ? 'projection' : 'openapi', [
      ...['paths', template, method, 'responses', status, 'content', type, 'schema'],
    ]);
    this.checkBody(validate, response.text, where);
  }

  private declaresQuery(template: string, method: string, name: string): boolean {
    const operation = this.document.paths[template]?.[method] as {
      parameters?: { in: string; name: string }[];
    };
    return (operation.parameters ?? []).some(
      (parameter) => parameter.in === 'query' && parameter.name === name,
    );
  }

  private checkError(response: CheckedResponse, where: string): void {
    if (response.method === 'HEAD') return;
    this.checkBody(this.validator('components', 'schemas', 'Error'), response.text, where);
  }

  private checkBody(validate: ValidateFunction, text: string, where: string): void {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`${where} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
    if (!validate(body)) {
      throw new Error(
        `${where} with a body that does not match the document: ${this.ajv.errorsText(validate.errors)}`,
      );
    }
  }
}

// The committed document (openapi/openapi.yaml), which a test keeps equal to what the service serves.
export const committedContract = new DocumentContract(parse(readFileSync(documentUrl, 'utf8')));

const contractCheck: Middleware = {
  async onResponse({ request, response }) {
    committedContract.check({
      method: request.method,
      path: new URL(request.url).pathname,
      status: response.status,
      header: (name) => response.headers.get(name) ?? undefined,
      headerNames: [...response.headers.keys()],
      text: await response.clone().text(),
    });
  },
};

// A typed client of the service at `baseUrl` whose every response is checked against the document.
export function contractClient(baseUrl: string, token?: string): TrexClient {
  const client = createTrexClient({ baseUrl, token });
  client.use(contractCheck);
  return client;
}

// `service` whose `api` checks every response against the document before handing it back.
export function documentChecked(service: TestService, contract = committedContract): TestService {
  const api = service.api;
  return {
    ...service,
    api: async (path, init) => {
      const response: ApiResponse = await api(path, init);
      contract.check({
        method: init?.method ?? 'GET',
        path,
        status: response.status,
        header: (name) => response.headers.get(name) ?? undefined,
        headerNames: [...response.headers.keys()],
        text: response.text,
      });
      return response;
    },
  };
}

// Checks the response that opened a watch stream of `path` (its status, headers and content type).
export function checkStream(
  path: string,
  stream: { status: number; headers: IncomingHttpHeaders; body: string },
  contract = committedContract,
): void {
  contract.check({
    method: 'GET',
    path,
    status: stream.status,
    header: (name) => {
      const value = stream.headers[name.toLowerCase()];
      return value === undefined ? undefined : String(value);
    },
    headerNames: Object.keys(stream.headers),
    text: stream.status === 200 ? '' : stream.body,
  });
}
