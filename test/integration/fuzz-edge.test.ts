// Property-based fuzzing of the HTTP edge (docs/api.md, docs/errors.md): random paths and methods, header
// values, query strings and bytes that are no UTF-8, sent with node:http so that what the generators make
// reaches the server byte for byte. Whatever comes in, the service never answers 5xx and never hangs,
// every error it sends is the documented Error body, and where the contract fixes the answer (404, 405,
// 401, 400, 412, 413, 415, 304, SSE) the answer is that one. The routes come from the OpenAPI document;
// every operation's own parameters and bodies are fuzzed from it in fuzz-operations.test.ts.
import { connect } from 'node:net';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../src/app/openapi-document.ts';
import { exampleId } from '../../src/http/openapi-examples.ts';
import { DocumentContract } from '../support/contract-client.ts';
import { type Exchange, exchange as exchangeWith, type Reply } from '../support/http-exchange.ts';
import { serviceForFile } from '../support/service.ts';
import { createTestKeys } from '../support/tokens.ts';

const apiRoot = '/api/rh-trex';
const apiBase = `${apiRoot}/v1`;
const dinosaurs = `${apiBase}/dinosaurs`;
const events = `${apiBase}/events`;
const ksuid = /^[0-9A-Za-z]{27}$/;
// biome-ignore lint/suspicious/noExplicitAny: the document is JSON read for its paths and operations
const document: { paths: Record<string, Record<string, any>> } = JSON.parse(
  JSON.stringify(await buildOpenApiDocument()),
);
const contract = new DocumentContract(document);
const operationIdFormat = /^[A-Za-z0-9._-]{1,64}$/;

// docs/errors.md: the HTTP status every code is sent with.
const statusOfCode: Readonly<Record<number, number>> = {
  4: 403,
  6: 409,
  7: 404,
  8: 400,
  9: 500,
  10: 405,
  11: 403,
  12: 412,
  13: 415,
  14: 413,
  15: 401,
  17: 400,
  21: 400,
  26: 500,
  27: 503,
};
const catalogueCodes = Object.keys(statusOfCode);

const service = serviceForFile();
let validToken: string;
let expiredToken: string;
let foreignToken: string; // well formed, same kid, signed by a key the service does not trust

beforeAll(async () => {
  validToken = await service.keys.mint();
  expiredToken = await service.keys.mint({ exp: Math.floor(Date.now() / 1000) - 3600 });
  foreignToken = await (await createTestKeys()).mint();
});

// ---------------------------------------------------------------------------------------------------
// The wire

// One request on its own connection; a response that does not come in time fails the test.
const exchange = (outgoing: Exchange): Promise<Reply> => exchangeWith(service.apiUrl, outgoing);
const requestTimeoutMs = 10_000;

// The bytes of one request written on a plain socket, and everything the server answers until it closes.
function rawExchange(requestText: string): Promise<string> {
  const { hostname, port } = new URL(service.apiUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    socket.setTimeout(requestTimeoutMs, () =>
      socket.destroy(new Error('the service did not close the connection')),
    );
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.write(Buffer.from(requestText, 'latin1'));
  });
}

const clip = (text: string, length = 160): string =>
  text.length > length ? `${text.slice(0, length)}…(${text.length} chars)` : text;

function contextOf(outgoing: Exchange, reply: Reply): string {
  return `${outgoing.method} ${JSON.stringify(clip(outgoing.path))} → ${reply.status} ${clip(reply.text, 300)}`;
}

// ---------------------------------------------------------------------------------------------------
// What every answer must be

// The Error body (docs/errors.md), its code consistent with the status; returns the code.
function expectErrorBody(reply: Reply, context: string): number {
  expect(String(reply.headers['content-type']), context).toMatch(/^application\/json(;|$)/);
  const operationId = reply.headers['x-operation-id'];
  expect(reply.json, context).toEqual({
    kind: 'Error',
    id: expect.stringMatching(/^\d+$/),
    href: expect.any(String),
    code: expect.any(String),
    reason: expect.stringMatching(/\S/),
    operation_id: operationId,
  });
  const code = Number(reply.json.id);
  expect(reply.json.href, context).toBe(`${apiBase}/errors/${code}`);
  expect(reply.json.code, context).toBe(`rh-trex-${code}`);
  expect(statusOfCode[code], `${context}: code ${code} is sent with another status`).toBe(reply.status);
  return code;
}

// No 5xx, an operation id, and for an error the Error body (HEAD: no body) with its headers.
function expectSane(outgoing: Exchange, reply: Reply): void {
  const context = contextOf(outgoing, reply);
  expect(reply.status, context).toBeGreaterThanOrEqual(200);
  expect(reply.status, context).toBeLessThan(500);
  expect(String(reply.headers['x-operation-id'] ?? ''), context).toMatch(operationIdFormat);
  expect([undefined, 'identity', 'gzip', 'br', 'deflate'], context).toContain(
    reply.headers['content-encoding'],
  );
  if (reply.status >= 400) {
    if (outgoing.method === 'HEAD') expect(reply.raw.length, context).toBe(0);
    else expectErrorBody(reply, context);
    if (reply.status === 401) expect(String(reply.headers['www-authenticate']), context).toMatch(/^Bearer\b/);
    if (reply.status === 405)
      expect(String(reply.headers.allow ?? ''), context).toMatch(/^[A-Z]+(, ?[A-Z]+)*$/);
  } else if (reply.status === 304 || reply.status === 204 || outgoing.method === 'HEAD') {
    expect(reply.raw.length, context).toBe(0);
  } else if (/^application\/json(;|$)/.test(String(reply.headers['content-type']))) {
    expect(reply.json, `${context}: the JSON body does not parse`).toBeDefined();
  }
}

function checkDeclared(outgoing: Exchange, reply: Reply): void {
  contract.check({
    method: outgoing.method,
    path: outgoing.path,
    status: reply.status,
    header: (name) => {
      const value = reply.headers[name.toLowerCase()];
      return value === undefined ? undefined : String(value);
    },
    headerNames: Object.keys(reply.headers),
    text: reply.eventStream ? '' : reply.text,
  });
}

interface Outcome {
  readonly status: number;
  readonly code?: number; // the Error code, for an error status
  readonly reason?: string; // the exact reason
  readonly stream?: boolean; // an SSE stream (status 200)
}

const error = (status: number, code: number, reason?: string): Outcome => ({ status, code, reason });
const success = (status: number): Outcome => ({ status });
const stream: Outcome = { status: 200, stream: true };

function matches(outgoing: Exchange, reply: Reply, outcome: Outcome): boolean {
  if (reply.status !== outcome.status) return false;
  if (outcome.stream !== undefined && reply.eventStream !== outcome.stream) return false;
  if (outgoing.method === 'HEAD') return true;
  if (outcome.code !== undefined && reply.json?.id !== String(outcome.code)) return false;
  return outcome.reason === undefined || reply.json?.reason === outcome.reason;
}

function expectOneOf(outgoing: Exchange, reply: Reply, outcomes: readonly Outcome[]): void {
  expectSane(outgoing, reply);
  const context = contextOf(outgoing, reply);
  expect(
    outcomes.some((outcome) => matches(outgoing, reply, outcome)),
    `${context}\n  expected one of ${JSON.stringify(outcomes)}`,
  ).toBe(true);
}

// ---------------------------------------------------------------------------------------------------
// Generators shared by the properties

const printable = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));
const wellFormed = (text: string): boolean => !/\p{Cs}/u.test(text); // no lone surrogate
const visibleAsciiExcept = (excluded: string): string[] =>
  Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).filter(
    (char) => !excluded.includes(char),
  );

type Auth =
  | { readonly kind: 'valid' | 'none' | 'expired' | 'foreign' }
  | { readonly kind: 'header'; readonly value: string };

const authArbitrary: fc.Arbitrary<Auth> = fc.oneof(
  { weight: 5, arbitrary: fc.constant<Auth>({ kind: 'valid' }) },
  { weight: 2, arbitrary: fc.constant<Auth>({ kind: 'none' }) },
  { weight: 1, arbitrary: fc.constant<Auth>({ kind: 'expired' }) },
  { weight: 1, arbitrary: fc.constant<Auth>({ kind: 'foreign' }) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.string({ unit: printable, maxLength: 60 }),
        fc.string({ unit: printable, maxLength: 60 }).map((text) => `Bearer ${text}`),
        fc.constantFrom(
          'Bearer',
          'Bearer ',
          'Basic dXNlcjpwYXNz',
          'Bearer a.b.c',
          'Bearer ...',
          'Bearer e30.e30.',
        ),
      )
      .map((value): Auth => ({ kind: 'header', value })),
  },
);

function authHeaders(auth: Auth): Record<string, string> {
  switch (auth.kind) {
    case 'valid':
      return { authorization: `Bearer ${validToken}` };
    case 'none':
      return {};
    case 'expired':
      return { authorization: `Bearer ${expiredToken}` };
    case 'foreign':
      return { authorization: `Bearer ${foreignToken}` };
    case 'header':
      return { authorization: auth.value };
  }
}

// ---------------------------------------------------------------------------------------------------
// Paths

const plainPart = fc.string({ unit: fc.constantFrom(...'abcXYZ0189-._~'), minLength: 1, maxLength: 10 });
const punctuationPart = fc.string({
  unit: fc.constantFrom(...visibleAsciiExcept('/?#%')),
  minLength: 1,
  maxLength: 10,
});
// Raw characters that cannot go into a request line are percent-encoded; the rest (any Unicode) stays.
const rawText = (text: string): string =>
  [...text]
    .map((char) => (char.charCodeAt(0) < 0x21 || '/?#%'.includes(char) ? encodeURIComponent(char) : char))
    .join('');
const unicodePart = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 });
const binaryPart = fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }).filter(wellFormed);
const pathPart = fc.oneof(
  { weight: 4, arbitrary: plainPart },
  { weight: 2, arbitrary: punctuationPart },
  { weight: 2, arbitrary: unicodePart.map(encodeURIComponent) },
  { weight: 1, arbitrary: binaryPart.map(encodeURIComponent) },
  { weight: 2, arbitrary: unicodePart.map(rawText) }, // sent as raw UTF-8 bytes
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      ...'% %z %zz %G1 %1 %% %C3%28 %FF %80 %E0%A4%A %ED%A0%80 %C0%AF %F8%88%80%80%80 %u00e9'.split(' '),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      ...[
        '. .. ... %2e %2E%2E %2F %2f..%2f %3F %23 %25 %2525',
        '%20 %0A %0D%0A + %2B ; ;jsessionid=1 :id * %7B%7D',
      ]
        .join(' ')
        .split(' '),
    ),
  },
);
const segment = fc.array(pathPart, { maxLength: 3 }).map((parts) => parts.join(''));
const longSegment = fc
  .tuple(fc.integer({ min: 200, max: 6_000 }), fc.constantFrom('a', 'Z9', '%C3%A9', '~', '%25', 'é', '.'))
  .map(([length, unit]) => unit.repeat(Math.ceil(length / unit.length)));
// Every path of the document, up to its first parameter.
const pathPrefixes = [
  '/',
  ...new Set(Object.keys(document.paths).map((path) => `${path.split('/{')[0]}/`.replace(/\/\/$/, '/'))),
];

const fuzzPath: fc.Arbitrary<string> = fc
  .record({
    prefix: fc.constantFrom(...pathPrefixes),
    long: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: longSegment }),
    segments: fc.array(segment, { maxLength: 3 }),
    trailingSlash: fc.boolean(),
  })
  .map(({ prefix, long, segments, trailingSlash }) => {
    const all = long === null ? segments : [long, ...segments];
    const path = `${prefix.slice(0, -1)}${all.map((part) => `/${part}`).join('')}${trailingSlash ? '/' : ''}`;
    // UTF-8 bytes as latin1 characters: node:http writes the request line in latin1.
    return Buffer.from(path === '' ? '/' : path, 'utf8').toString('latin1');
  });

type Route =
  | { readonly kind: 'unparseable' } // bytes no HTTP request line may hold
  | { readonly kind: 'badEncoding' } // percent-encoding that does not decode to UTF-8
  | { readonly kind: 'unknown' }
  | { readonly kind: 'unsure' } // the router's treatment of this path is not pinned down here
  | {
      readonly kind: 'known';
      readonly template: string;
      readonly params: readonly string[]; // decoded
      readonly rawParams: readonly string[];
    };

// The routes of the API server, from its OpenAPI document: the template, whether a token is needed, the
// methods allowed (HEAD with GET), those that take a body, and what a 404 says (the document's example,
// naming the first parameter's value).
interface RouteEntry {
  readonly template: string;
  readonly protected: boolean;
  readonly allow: readonly string[];
  readonly bodies: readonly string[];
  readonly notFound: ((id: string) => string) | undefined;
}
const routeTable: readonly RouteEntry[] = Object.entries(document.paths).map(([path, item]) => {
  const methods = Object.keys(item).map((method) => method.toUpperCase());
  const operations = Object.values(item);
  const example = operations
    .map(
      (operation) => operation.responses?.['404']?.content?.['application/json']?.examples?.NotFound?.value,
    )
    .find((value) => typeof value?.reason === 'string' && value.reason.includes(exampleId));
  return {
    template: path.replace(/\{([^}]+)\}/g, ':$1'),
    protected: operations.some((operation) => (operation.security ?? []).length > 0),
    allow: methods.includes('GET') ? [...methods, 'HEAD'] : methods,
    bodies: methods.filter((method) => item[method.toLowerCase()]?.requestBody),
    notFound: example ? (id: string) => example.reason.replace(exampleId, id) : undefined,
  };
});
const errorEntryTemplate = `${apiBase}/errors/:code`;

function routeOf(rawPath: string): Route {
  if ([...rawPath].some((char) => char.charCodeAt(0) < 0x21 || char.charCodeAt(0) > 0x7e)) {
    return { kind: 'unparseable' };
  }
  try {
    decodeURIComponent(rawPath);
  } catch {
    return { kind: 'badEncoding' };
  }
  if (rawPath === '/') return { kind: 'unknown' };
  const path = rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath; // trailing slashes are accepted
  const segments = path.split('/').slice(1);
  // Empty segments, encoded characters in a fixed segment or the static files of the docs page: the
  // router's answer is only held to the general rules.
  if (segments.some((part) => part === '')) return { kind: 'unsure' };
  if (segments.slice(0, 4).some((part) => part.includes('%'))) return { kind: 'unsure' };
  if (segments.length >= 4 && /^openapi|^documentation|^static/.test(segments[3] ?? ''))
    return { kind: 'unsure' };
  for (const { template } of routeTable) {
    const fixed = template.split('/').slice(1);
    if (fixed.length !== segments.length) continue;
    if (!fixed.every((part, i) => part.startsWith(':') || part === segments[i])) continue;
    const rawParams = segments.filter((_, i) => fixed[i]?.startsWith(':'));
    return { kind: 'known', template, rawParams, params: rawParams.map(decodeURIComponent) };
  }
  return { kind: 'unknown' };
}

// An id longer than the router takes (4096) is an unknown path, answered 404 before authentication.
const tooLong = (route: Route & { kind: 'known' }): boolean =>
  [...route.rawParams, ...route.params].some((param) => param.length > 4096);

const standardMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

// What a request with no body may be answered, by the contract.
function pathOutcomes(method: string, rawPath: string, authenticated: boolean): readonly Outcome[] | 'any' {
  const route = routeOf(rawPath);
  switch (route.kind) {
    case 'unparseable':
    case 'badEncoding':
      return [error(400, 17)];
    case 'unknown':
      return [error(404, 7)];
    case 'unsure':
      return 'any';
  }
  const entry = routeTable.find(({ template }) => template === route.template);
  if (!entry) throw new Error(`no route ${route.template}`);
  const outcomes: Outcome[] = [];
  if (tooLong(route)) outcomes.push(error(404, 7));
  if (entry.protected && !authenticated) return [...outcomes, error(401, 15)];
  if (!entry.allow.includes(method)) return [...outcomes, error(405, 10)];
  // A method that takes a body, sent none: the body is missing (validated before any lookup).
  if (entry.bodies.includes(method)) return [...outcomes, error(400, 17)];
  const [id] = route.params;
  if (id === undefined) return [...outcomes, success(200)];
  if (route.template === errorEntryTemplate) {
    return [
      ...outcomes,
      /^\d{1,3}$/.test(id) && catalogueCodes.includes(String(Number(id))) ? success(200) : error(404, 7),
    ];
  }
  // A NUL in an id is covered by its own test below; here any Error answer is taken.
  if (route.params.some((param) => param.includes('\u0000'))) outcomes.push(error(400, 8));
  // No resource has a random id: the first one named is not found.
  return [...outcomes, error(404, 7, entry.notFound?.(id))];
}

const sameMethods = (header: unknown, allowed: readonly string[]): boolean =>
  String(header ?? '')
    .split(',')
    .map((method) => method.trim())
    .sort()
    .join() === [...allowed].sort().join();

describe('paths and methods', () => {
  it('answers any path under any standard method as the contract says, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...standardMethods),
        fuzzPath,
        authArbitrary,
        async (method, path, auth) => {
          // HEAD on a request line Node's parser refuses has its own test below.
          fc.pre(!(method === 'HEAD' && routeOf(path).kind === 'unparseable'));
          const outgoing: Exchange = { method, path, headers: authHeaders(auth) };
          const reply = await exchange(outgoing);
          const expected = pathOutcomes(method, path, auth.kind === 'valid');
          if (expected === 'any') expectSane(outgoing, reply);
          else expectOneOf(outgoing, reply, expected);
          const route = routeOf(path);
          if (reply.status === 405 && route.kind === 'known') {
            const allowed = routeTable.find(({ template }) => template === route.template)?.allow ?? [];
            expect(sameMethods(reply.headers.allow, allowed), `Allow: ${reply.headers.allow}`).toBe(true);
          }
          // On a route of the document, the answer is one it declares, body and all.
          if (route.kind === 'known' && !tooLong(route)) checkDeclared(outgoing, reply);
        },
      ),
      { numRuns: 300 },
    );
  }, 60_000);

  const oddMethods = [
    'OPTIONS TRACE PROPFIND PROPPATCH MKCOL COPY MOVE LOCK UNLOCK SEARCH QUERY PURGE REPORT LINK',
    'UNLINK MERGE NOTIFY SUBSCRIBE UNSUBSCRIBE M-SEARCH MKACTIVITY MKCALENDAR CHECKOUT BIND REBIND UNBIND ACL SOURCE',
  ]
    .join(' ')
    .split(' ');
  // Tokens HTTP allows but Node's parser does not know: refused before routing.
  const unknownMethods = ['FOO', 'BREW', 'X-CUSTOM', 'GETS', 'PATCHED'];

  it('answers odd and unknown methods on any path with an Error body, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...oddMethods, ...unknownMethods),
        fuzzPath,
        authArbitrary,
        async (method, path, auth) => {
          const outgoing: Exchange = { method, path, headers: authHeaders(auth) };
          const reply = await exchange(outgoing);
          expectSane(outgoing, reply);
          const context = contextOf(outgoing, reply);
          const route = routeOf(path);
          if (unknownMethods.includes(method) || route.kind === 'unparseable') {
            expectOneOf(outgoing, reply, [error(400, 17)]);
          } else if (route.kind === 'badEncoding') {
            expectOneOf(outgoing, reply, [error(400, 17)]);
          } else if (route.kind === 'unknown') {
            // QUERY carries a body: Fastify wants its Content-Type first.
            expectOneOf(
              outgoing,
              reply,
              method === 'QUERY' ? [error(404, 7), error(400, 17)] : [error(404, 7)],
            );
          } else {
            expect([200, 204, 400, 401, 404, 405], context).toContain(reply.status);
          }
        },
      ),
      { numRuns: 150 },
    );
  }, 60_000);

  // docs/api.md#methods-head-and-405: any other method on a known path is 405 code 10, with an Allow
  // header and an Error body.
  it('answers every method a known path does not support with 405 and its Allow header', async () => {
    // Every path of the document; the router answers 405 before any lookup, so ids need not exist.
    // Every other path with a trailing slash.
    const paths: [path: string, template: string][] = routeTable.map(({ template }, i) => [
      `${template.replace(/:([^/]+)/g, 'unknown-$1')}${i % 2 === 1 ? '/' : ''}`,
      template,
    ]);
    const wrong = new Map<string, Set<string>>(); // method → the wrong answers it got
    for (const method of oddMethods) {
      for (const [path, template] of paths) {
        const outgoing: Exchange = { method, path, headers: { authorization: `Bearer ${validToken}` } };
        const reply = await exchange(outgoing);
        expectSane(outgoing, reply);
        const allowed = routeTable.find((route) => route.template === template)?.allow ?? [];
        // OPTIONS may also be answered (2xx), as long as it does not deny the resource exists.
        const answered = method === 'OPTIONS' && reply.status >= 200 && reply.status < 300;
        const refused = reply.status === 405 && reply.json?.code === 'rh-trex-10';
        if (!answered && !(refused && sameMethods(reply.headers.allow, allowed))) {
          const answers = wrong.get(method) ?? new Set<string>();
          answers.add(
            `${path}: ${reply.status} ${reply.json?.code ?? ''} Allow: ${reply.headers.allow ?? '-'}`,
          );
          wrong.set(method, answers);
        }
      }
    }
    expect(
      Object.fromEntries([...wrong].map(([method, answers]) => [method, [...answers].join(' | ')])),
    ).toEqual({});
  }, 30_000);

  // RFC 9110 §9.3.2: the answer to HEAD has no content, also when Node's parser refused the request line
  // (a keep-alive client would read the body as the start of the next response).
  it('answers HEAD with a request line the parser refuses: 400 and its headers, no body', async () => {
    const targets = ['/\u00c2\u00a0', `${dinosaurs}/\u00ff`, `${events}/\u007f`, `${apiBase}/\u00e9`];
    for (const target of targets) {
      const raw = await rawExchange(`HEAD ${target} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      const end = raw.indexOf('\r\n\r\n');
      expect(end, raw).toBeGreaterThan(0);
      const head = raw.slice(0, end);
      expect(head, raw).toMatch(/^HTTP\/1\.1 400 /);
      expect(head, raw).toMatch(/\r\nx-operation-id: [0-9A-Za-z]{27}\r\n/i);
      expect(raw.slice(end + 4), `HEAD ${JSON.stringify(target)}: ${JSON.stringify(raw)}`).toBe('');
    }
  });

  // docs/api.md#ids-and-timestamps: an unknown id is 404 code 7, whatever characters it holds; PostgreSQL's
  // refusal of NUL in text is no reason to answer otherwise.
  it('answers an id holding a NUL character like any unknown id: 404 code 7', async () => {
    // The routes of the document whose first parameter names a resource, and their bodiless methods.
    const routes = routeTable.filter(({ template, notFound }) => template.includes('/:') && notFound);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.string({ unit: plainPart, maxLength: 2 }),
        fc.string({ unit: plainPart, maxLength: 2 }),
        fc.constantFrom('GET', 'HEAD', 'DELETE'),
        async (route, before, after, method) => {
          if (!route.allow.includes(method)) return;
          const id = `${before}\u0000${after}`;
          const outgoing: Exchange = {
            method,
            path: route.template.replace(/:[^/]+/g, encodeURIComponent(id)),
            headers: { authorization: `Bearer ${validToken}` },
          };
          expectOneOf(outgoing, await exchange(outgoing), [error(404, 7, route.notFound?.(id))]);
        },
      ),
      { numRuns: 40 },
    );
  }, 30_000);
});

// ---------------------------------------------------------------------------------------------------
// Headers

const ETAG = '\u0001ETAG\u0001'; // replaced by the target row's current ETag
const TOKEN = '\u0001TOKEN\u0001'; // a valid token
const EXPIRED = '\u0001EXPIRED\u0001';
const FOREIGN = '\u0001FOREIGN\u0001';
const EVENT = '\u0001EVENT\u0001'; // an event id of dinosaurs
const ABSENT = '\u0001ABSENT\u0001'; // the header is not sent

const headerText = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: printable, maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: printable, minLength: 256, maxLength: 4096 }) },
);
const fuzzed = (...specials: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 2, arbitrary: headerText },
    { weight: 2, arbitrary: fc.constantFrom(...specials) },
    { weight: 2, arbitrary: fc.constant(ABSENT) },
  );

const headerArbitrary = fc.record({
  'content-type': fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('application/json', 'application/merge-patch+json') },
    {
      weight: 3,
      arbitrary: fuzzed(
        'application/json; charset=utf-8',
        'Application/JSON',
        'text/plain',
        'application/xml',
        'multipart/form-data; boundary=x',
        'application/x-www-form-urlencoded',
        'application/json-patch+json',
        'application/jsonx',
        'application/json;',
        'application/json; charset=utf-8; foo=bar',
        '*/*',
        '',
      ),
    },
  ),
  accept: fuzzed('application/json', 'text/html', '*/*', 'text/event-stream', 'application/xml;q=1, */*;q=0'),
  'accept-encoding': fuzzed(
    'gzip',
    'br',
    'deflate',
    'identity',
    '*',
    'identity;q=0',
    '*;q=0',
    'gzip;q=0, br;q=0, deflate;q=0, identity;q=0',
    'compress',
    'zstd',
    'gzip, br',
    'br;q=abc',
  ),
  'x-operation-id': fuzzed(
    'op-1',
    'A',
    'x'.repeat(64),
    'x'.repeat(65),
    'has space',
    'a,b',
    '../../etc/passwd',
    '',
    ' padded ',
  ),
  'if-match': fuzzed(ETAG, `W/${ETAG}`, `"nope", ${ETAG}`, '*', ' * ', '"x"', 'W/"x"', '', ','),
  'if-none-match': fuzzed(ETAG, `W/${ETAG}`, `"nope", ${ETAG}`, '*', '"x"', 'W/"x"', '', ','),
  'idempotency-key': fuzzed('k', 'key-1', 'x'.repeat(255), 'x'.repeat(256), '', 'has space', 'é'),
  authorization: fc.oneof(
    { weight: 8, arbitrary: fc.constant(`Bearer ${TOKEN}`) },
    {
      weight: 3,
      arbitrary: fuzzed(
        `bearer ${TOKEN}`,
        `BEARER   ${TOKEN}  `,
        `Bearer ${EXPIRED}`,
        `Bearer ${FOREIGN}`,
        `Bearer ${TOKEN} extra`,
        `Bearer${TOKEN}`,
        `Basic ${TOKEN}`,
        'Bearer',
        '',
      ),
    },
  ),
  cookie: fuzzed(
    `cs_jwt=${TOKEN}`,
    `theme=dark; cs_jwt=${TOKEN}`,
    'cs_jwt=garbage',
    'cs_jwt=%zz',
    '=;=;;',
    'a',
  ),
  'last-event-id': fuzzed(EVENT, '', '0', 'x'),
  origin: fuzzed('https://evil.example', 'null', 'http://localhost:8000', 'file://'),
});

type HeaderRecord = Record<string, string>;

const targets = [
  'list',
  'watch',
  'create',
  'get',
  'patch',
  'delete',
  'eventsList',
  'eventGet',
  'apiRoot',
  'errorEntry',
  'unknown',
] as const;
type Target = (typeof targets)[number];

const owsTrimmed = (value: string): string => value.replace(/^[ \t]+|[ \t]+$/g, '');

function isAuthenticated(headers: HeaderRecord): boolean {
  const authorization = headers.authorization;
  if (authorization !== undefined && owsTrimmed(authorization) !== '') {
    return /^bearer\s+(\S+)\s*$/i.exec(owsTrimmed(authorization))?.[1] === validToken;
  }
  const cookie = headers.cookie ?? '';
  return cookie === `cs_jwt=${validToken}` || cookie === `theme=dark; cs_jwt=${validToken}`;
}

// application/json or application/merge-patch+json, with or without charset=utf-8: 'json'; something
// that starts like them: 'maybe'; anything else: 'no'.
function jsonContentType(value: string | undefined): 'json' | 'maybe' | 'no' {
  if (value === undefined) return 'no';
  const type = owsTrimmed(value);
  if (/^application\/(json|merge-patch\+json)(\s*;\s*charset=utf-8)?$/i.test(type)) return 'json';
  return /^application\/(json|merge-patch\+json)\b/i.test(type) ? 'maybe' : 'no';
}

function etagHolds(header: string, tag: string, weak: boolean): boolean {
  if (owsTrimmed(header) === '*') return true;
  return header
    .split(',')
    .map((item) => item.trim())
    .some((item) => (weak ? item.replace(/^W\//, '') : item) === tag);
}

describe('headers', () => {
  it('answers random header values on every route as the contract says, never 5xx', async () => {
    const json = { authorization: `Bearer ${validToken}`, 'content-type': 'application/json' };
    const create = async (species: string) => {
      const reply = await exchange({
        method: 'POST',
        path: dinosaurs,
        headers: json,
        body: JSON.stringify({ species }),
      });
      expect(reply.status, reply.text).toBe(201);
      return { id: reply.json.id as string, tag: String(reply.headers.etag) };
    };
    const row = await create('Headerosaurus');
    const [dinosaurEvent] = await service.database.query<{ id: string }>(
      "select id from events where source = 'Dinosaurs' limit 1",
    );
    const [anyEvent] = await service.database.query<{ id: string }>('select id from events limit 1');
    const usedKeys = new Set<string>();
    let counter = 0;

    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...targets), headerArbitrary, async (target: Target, generated) => {
        counter += 1;
        const deleting = target === 'delete' ? await create(`Deletosaurus ${counter}`) : undefined;
        const tag = deleting?.tag ?? row.tag;
        const headers: HeaderRecord = {};
        for (const [name, value] of Object.entries(generated)) {
          if (value === ABSENT) continue;
          headers[name] = value
            .replaceAll(TOKEN, validToken)
            .replaceAll(EXPIRED, expiredToken)
            .replaceAll(FOREIGN, foreignToken)
            .replaceAll(ETAG, tag)
            .replaceAll(EVENT, dinosaurEvent?.id ?? '');
        }
        const species = `Headerosaurus ${counter}`;
        const requests: Record<Target, Omit<Exchange, 'headers'>> = {
          list: { method: 'GET', path: dinosaurs },
          watch: { method: 'GET', path: `${dinosaurs}?watch=true` },
          create: { method: 'POST', path: dinosaurs, body: JSON.stringify({ species }) },
          get: { method: 'GET', path: `${dinosaurs}/${row.id}` },
          patch: { method: 'PATCH', path: `${dinosaurs}/${row.id}`, body: JSON.stringify({ species }) },
          delete: { method: 'DELETE', path: `${dinosaurs}/${deleting?.id}` },
          eventsList: { method: 'GET', path: events },
          eventGet: { method: 'GET', path: `${events}/${anyEvent?.id}` },
          apiRoot: { method: 'GET', path: apiRoot },
          errorEntry: { method: 'GET', path: `${apiBase}/errors/7` },
          unknown: { method: 'GET', path: `${apiBase}/unicorns` },
        };
        const outgoing: Exchange = { ...requests[target], headers };
        const reply = await exchange(outgoing);
        const context = contextOf(outgoing, reply);

        const headerBytes =
          outgoing.path.length +
          Object.entries(headers).reduce((sum, [name, value]) => sum + name.length + value.length + 4, 40);
        if (headerBytes > 20_000) {
          // Over Node's 16 KiB limit for the request head: refused before routing.
          expectOneOf(outgoing, reply, [error(400, 17)]);
          return;
        }
        if (headerBytes > 12_000 && reply.status === 400 && reply.json?.code === 'rh-trex-17') {
          expectSane(outgoing, reply); // near the limit either answer is fine
          return;
        }

        const expected = ((): readonly Outcome[] => {
          if (target === 'apiRoot' || target === 'errorEntry') return [success(200)];
          if (target === 'unknown') return [error(404, 7)];
          if (!isAuthenticated(headers)) return [error(401, 15)];
          const fallbacks: Outcome[] = [];
          if (target === 'create' || target === 'patch') {
            const type = jsonContentType(headers['content-type']);
            if (type === 'no') return [error(415, 13)];
            if (type === 'maybe') fallbacks.push(error(415, 13), error(400, 17));
          }
          // A DELETE has no body, so its Content-Type should not matter; that it does is asserted by a
          // test of its own below, so that this property keeps looking for other problems.
          if (target === 'delete' && headers['content-type'] !== undefined) {
            if (jsonContentType(headers['content-type']) !== 'json') fallbacks.push(error(415, 13));
          }
          switch (target) {
            case 'create': {
              const key = headers['idempotency-key'];
              if (key === undefined) return [...fallbacks, success(201)];
              if (!/^[\x21-\x7e]{1,255}$/.test(owsTrimmed(key))) return [...fallbacks, error(400, 8)];
              return [...fallbacks, usedKeys.has(owsTrimmed(key)) ? error(409, 6) : success(201)];
            }
            case 'patch':
            case 'delete': {
              const ifMatch = headers['if-match'];
              const done = success(target === 'patch' ? 200 : 204);
              if (ifMatch === undefined) return [...fallbacks, done];
              if (owsTrimmed(ifMatch) === '') return [...fallbacks, done, error(412, 12)];
              return [...fallbacks, etagHolds(ifMatch, tag, false) ? done : error(412, 12)];
            }
            case 'get': {
              const ifNoneMatch = headers['if-none-match'];
              if (ifNoneMatch === undefined || owsTrimmed(ifNoneMatch) === '') return [success(200)];
              return [etagHolds(ifNoneMatch, tag, true) ? success(304) : success(200)];
            }
            case 'eventGet':
              return headers['if-none-match'] === undefined ? [success(200)] : [success(200), success(304)];
            case 'watch': {
              const lastEventId = headers['last-event-id'];
              if (lastEventId === undefined || owsTrimmed(lastEventId) === '') return [stream];
              return owsTrimmed(lastEventId) === dinosaurEvent?.id ? [stream] : [error(400, 21)];
            }
            default:
              return [success(200)];
          }
        })();
        expectOneOf(outgoing, reply, expected);

        // X-Operation-ID (docs/api.md#operation-id): a valid one is reused, anything else replaced by a
        // new KSUID.
        const given = headers['x-operation-id'];
        const reused = given !== undefined && operationIdFormat.test(owsTrimmed(given));
        const operationId = String(reply.headers['x-operation-id']);
        if (reused) expect(operationId, context).toBe(owsTrimmed(given));
        else expect(operationId, context).toMatch(ksuid);
        // CORS is off: no origin is ever allowed.
        expect(reply.headers['access-control-allow-origin'], context).toBeUndefined();
        if (target === 'watch' && reply.eventStream) {
          expect(String(reply.headers['content-type']), context).toMatch(/^text\/event-stream/);
        }
        if (reply.status === 201) {
          expect(reply.json, context).toMatchObject({ kind: 'Dinosaur', species });
          const key = headers['idempotency-key'];
          if (key !== undefined) usedKeys.add(owsTrimmed(key));
        }
        if (target === 'patch' && reply.status === 200) {
          expect(reply.json, context).toMatchObject({ id: row.id, species });
          row.tag = String(reply.headers.etag);
        }
        if (target === 'get' && reply.status === 200) expect(reply.json?.id, context).toBe(row.id);
      }),
      { numRuns: 250 },
    );
  }, 60_000);

  // docs/api.md#content-type: DELETE answers 204 (or 404); it takes no body, so a Content-Type header some
  // clients send on every request is no reason for 415.
  it('ignores the Content-Type of a DELETE without a body', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          'text/plain',
          'application/xml',
          'application/x-www-form-urlencoded',
          'application/json;',
        ),
        fc.boolean(),
        async (contentType, exists) => {
          let id = 'no-such-dinosaur';
          if (exists) {
            const created = await exchange({
              method: 'POST',
              path: dinosaurs,
              headers: { authorization: `Bearer ${validToken}`, 'content-type': 'application/json' },
              body: JSON.stringify({ species: 'Bodilessaurus' }),
            });
            expect(created.status).toBe(201);
            id = created.json.id;
          }
          const outgoing: Exchange = {
            method: 'DELETE',
            path: `${dinosaurs}/${id}`,
            headers: { authorization: `Bearer ${validToken}`, 'content-type': contentType },
          };
          const reply = await exchange(outgoing);
          expectOneOf(outgoing, reply, [
            exists ? success(204) : error(404, 7, `Dinosaur with id='${id}' not found`),
          ]);
        },
      ),
      { numRuns: 12 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// Query strings

const listParameters = ['page', 'size', 'search', 'orderBy', 'fields', 'watch'] as const;
const queryKey = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...listParameters) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'a[]',
      'page[]',
      'size[0]',
      'watch[]',
      'fields[]',
      'PAGE',
      'Size',
      'orderby',
      '__proto__',
      'constructor',
      'hasOwnProperty',
      'toString',
      '',
      ' ',
      'page ',
      'a.b',
    ),
  },
  { weight: 2, arbitrary: fc.string({ unit: printable, maxLength: 10 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
);
const numberText = fc.oneof(
  fc.nat({ max: 200 }).map(String),
  fc.bigInt({ min: 0n, max: 10n ** 40n }).map(String),
  fc.integer({ min: -100, max: -1 }).map(String),
  fc.constantFrom(
    '0',
    '1',
    '2',
    '00',
    '01',
    '-0',
    '1.0',
    '1.5',
    '1e3',
    ' 1',
    '1 ',
    '+1',
    '0x10',
    '٣',
    '１',
    'NaN',
    'Infinity',
    '65500',
    '65501',
    '9007199254740993',
    '99999999999999999999',
  ),
);
const queryValue = fc.oneof(
  { weight: 4, arbitrary: numberText },
  { weight: 2, arbitrary: fc.string({ unit: printable, maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 10 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }).filter(wellFormed) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      'true',
      'false',
      'TRUE',
      'species',
      'species desc',
      'id,species',
      'created_at desc, id',
      "species = 'x'",
      "species like '%'",
      'species,',
      'kind',
      'source',
      "source = 'Dinosaurs'",
      'event_type desc',
    ),
  },
);
const garbageSuffixes = ['%', '%z', '%G0', '%C3%28', '%FF', '%%', '%u0041', '+%2', '%ED%A0%80'];
type Encoding = 'encoded' | 'raw' | { readonly garbage: string };
const encodingArbitrary: fc.Arbitrary<Encoding> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Encoding>('encoded') },
  { weight: 2, arbitrary: fc.constant<Encoding>('raw') },
  { weight: 1, arbitrary: fc.constantFrom(...garbageSuffixes).map((garbage): Encoding => ({ garbage })) },
);
const queryPair = fc.record({
  key: queryKey,
  keyEncoding: encodingArbitrary,
  value: fc.option(queryValue, { freq: 8 }), // null: the key alone, no '='
  valueEncoding: encodingArbitrary,
});

// The text sent and, when it is certain, what the server decodes it to.
function rendered(
  text: string,
  encoding: Encoding,
  isKey: boolean,
): { raw: string; exact: string | undefined } {
  if (typeof encoding === 'object')
    return { raw: `${encodeURIComponent(text)}${encoding.garbage}`, exact: undefined };
  if (
    encoding === 'raw' &&
    /^[\x21-\x7e]*$/.test(text) &&
    !/[&#%+]/.test(text) &&
    !(isKey && text.includes('='))
  ) {
    return { raw: text, exact: text };
  }
  return { raw: encodeURIComponent(text), exact: text };
}

type Given = { state: 'absent' } | { state: 'one'; value: string } | { state: 'many' } | { state: 'unsure' };

function givenParameter(values: readonly (string | undefined)[] | undefined): Given {
  if (values === undefined || values.length === 0) return { state: 'absent' };
  if (values.length > 1) return { state: 'many' };
  const [value] = values;
  if (value === undefined) return { state: 'unsure' };
  return value.trim() === '' ? { state: 'absent' } : { state: 'one', value };
}

// 'ok' with the number, 'bad', or 'unsure'.
function integerParameter(given: Given, minimum: number): number | 'absent' | 'bad' | 'unsure' {
  switch (given.state) {
    case 'absent':
      return 'absent';
    case 'many':
    case 'unsure':
      return 'unsure'; // a repeated parameter is 400 code 21 (docs/api.md#lists); other checks may come first
    case 'one':
      return /^\d+$/.test(given.value) && Number(given.value) >= minimum ? Number(given.value) : 'bad';
  }
}

describe('query strings', () => {
  it('answers any query string on the list routes with a list, a stream or an Error body, never 5xx', async () => {
    for (let i = 0; i < 3; i++) {
      const reply = await exchange({
        method: 'POST',
        path: dinosaurs,
        headers: { authorization: `Bearer ${validToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ species: `Querysaurus ${i}` }),
      });
      expect(reply.status).toBe(201);
    }
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(dinosaurs, events, `${dinosaurs}/`),
        fc.array(queryPair, { maxLength: 6 }),
        fc.constantFrom(null, 'true', 'false', 'TRUE', '1', ''),
        fc.constantFrom('', '&', '&&'),
        async (path, pairs, watch, separator) => {
          const parsed = new Map<string, (string | undefined)[]>();
          const parts: string[] = [];
          const all =
            watch === null
              ? pairs
              : [
                  ...pairs,
                  {
                    key: 'watch',
                    keyEncoding: 'raw' as const,
                    value: watch,
                    valueEncoding: 'encoded' as const,
                  },
                ];
          for (const pair of all) {
            const key = rendered(pair.key, pair.keyEncoding, true);
            const value =
              pair.value === null ? { raw: '', exact: '' } : rendered(pair.value, pair.valueEncoding, false);
            parts.push(pair.value === null ? key.raw : `${key.raw}=${value.raw}`);
            if (key.exact !== undefined)
              parsed.set(key.exact, [...(parsed.get(key.exact) ?? []), value.exact]);
          }
          const outgoing: Exchange = {
            method: 'GET',
            path: `${path}?${separator}${parts.join('&')}${separator}`,
            headers: { authorization: `Bearer ${validToken}` },
          };
          const reply = await exchange(outgoing);
          const context = contextOf(outgoing, reply);

          const page = integerParameter(givenParameter(parsed.get('page')), 1);
          const size = integerParameter(givenParameter(parsed.get('size')), 0);
          const watchGiven = givenParameter(parsed.get('watch'));
          const watching =
            path !== events &&
            (watchGiven.state === 'one' && watchGiven.value === 'true'
              ? true
              : watchGiven.state === 'unsure'
                ? undefined
                : false);
          const succeeded: Outcome[] =
            watching === undefined ? [stream, success(200)] : watching ? [stream] : [success(200)];
          if (page === 'bad' || size === 'bad') {
            expectOneOf(outgoing, reply, [error(400, 21)]);
            return;
          }
          const filters = (['search', 'orderBy', 'fields'] as const).map((name) =>
            givenParameter(parsed.get(name)),
          );
          const plain =
            page !== 'unsure' && size !== 'unsure' && filters.every(({ state }) => state === 'absent');
          expectOneOf(outgoing, reply, plain ? succeeded : [...succeeded, error(400, 21), error(400, 8)]);
          if (reply.status === 200 && !reply.eventStream) {
            const list = reply.json;
            expect(list, context).toMatchObject({
              kind: path === events ? 'EventList' : 'DinosaurList',
              page: expect.any(Number),
              size: expect.any(Number),
              total: expect.any(Number),
              items: expect.any(Array),
            });
            expect(list.items.length, context).toBe(list.size);
            expect(list.total, context).toBeGreaterThanOrEqual(0);
            if (typeof page === 'number') expect(list.page, context).toBe(page);
            if (page === 'absent') expect(list.page, context).toBe(1);
            if (typeof size === 'number')
              expect(list.size, context).toBeLessThanOrEqual(Math.min(size, 65_500));
            if (typeof page === 'number' && typeof size === 'number' && filters[0]?.state === 'absent') {
              const skipped = (page - 1) * Math.min(size, 65_500);
              expect(list.size, context).toBe(
                Math.max(0, Math.min(Math.min(size, 65_500), list.total - skipped)),
              );
            }
          }
        },
      ),
      { numRuns: 250 },
    );
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------------
// Bodies that are no UTF-8 (every operation's bodies, from its schema: fuzz-operations.test.ts)

describe('bodies', () => {
  const count = async (table: string): Promise<number> =>
    Number((await service.database.query<{ n: string }>(`select count(*) as n from ${table}`))[0]?.n);

  // RFC 8259 §8.1: JSON text is UTF-8. Bytes that are not are an unreadable body (400 code 17), not a
  // species silently rewritten with U+FFFD.
  it('refuses a body that is not valid UTF-8 with 400 code 17 and stores nothing', async () => {
    const created = await exchange({
      method: 'POST',
      path: dinosaurs,
      headers: { authorization: `Bearer ${validToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ species: 'Utf8osaurus' }),
    });
    expect(created.status).toBe(201);
    const before = { dinosaurs: await count('dinosaurs'), events: await count('events') };
    const invalidSequences = [
      [0xff],
      [0xfe, 0xff],
      [0x80],
      [0xc3, 0x28],
      [0xc0, 0xaf],
      [0xe0, 0x80, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0xe2, 0x82],
      [0xf4, 0x90, 0x80, 0x80],
    ];
    const fatal = new TextDecoder('utf-8', { fatal: true });
    const isUtf8 = (bytes: Uint8Array): boolean => {
      try {
        fatal.decode(bytes);
        return true;
      } catch {
        return false;
      }
    };
    const invalidBytes = fc
      .tuple(
        fc.string({ unit: 'grapheme-ascii', maxLength: 6 }),
        fc.oneof(
          fc.constantFrom(...invalidSequences),
          fc.uint8Array({ minLength: 1, maxLength: 6, min: 0x80 }).map((b) => [...b]),
        ),
        fc.string({ unit: 'grapheme-ascii', maxLength: 6 }),
      )
      .map(([before, bad, after]) =>
        Buffer.concat([
          Buffer.from(before.replace(/["\\]/g, '')),
          Buffer.from(bad),
          Buffer.from(after.replace(/["\\]/g, '')),
        ]),
      )
      .filter((bytes) => !isUtf8(bytes));
    const place = fc.constantFrom('species', 'key', 'outside');

    await fc.assert(
      fc.asyncProperty(fc.constantFrom('POST', 'PATCH'), invalidBytes, place, async (method, bad, where) => {
        const body =
          where === 'species'
            ? Buffer.concat([Buffer.from('{"species":"'), bad, Buffer.from('"}')])
            : where === 'key'
              ? Buffer.concat([Buffer.from('{"species":"x","'), bad, Buffer.from('":1}')])
              : Buffer.concat([Buffer.from('{"species":"x"}'), bad]);
        const outgoing: Exchange = {
          method,
          path: method === 'POST' ? dinosaurs : `${dinosaurs}/${created.json.id}`,
          headers: { authorization: `Bearer ${validToken}`, 'content-type': 'application/json' },
          body,
        };
        const reply = await exchange(outgoing);
        expect(reply.status, `${contextOf(outgoing, reply)}\n  body bytes: ${body.toString('hex')}`).toBe(
          400,
        );
        expectOneOf(outgoing, reply, [error(400, 17)]);
      }),
      { numRuns: 100 },
    );
    expect({ dinosaurs: await count('dinosaurs'), events: await count('events') }).toEqual(before);
  }, 60_000);
});

describe('after the fuzzing', () => {
  it('the service still lists dinosaurs and reports itself healthy', async () => {
    const list = await exchange({
      method: 'GET',
      path: dinosaurs,
      headers: { authorization: `Bearer ${validToken}` },
    });
    expect(list.status, list.text).toBe(200);
    expect(list.json.kind).toBe('DinosaurList');
    const health = await fetch(`${service.healthUrl}/healthcheck`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({});
  });
});
