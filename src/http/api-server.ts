import { METHODS } from 'node:http';
import fastifyCompress from '@fastify/compress';
import fastifyCors from '@fastify/cors';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { TSchema } from 'typebox';
import type { AccessControl } from '../auth/access.ts';
import { operationIdFor, operationIdHeader } from '../context/operation-id.ts';
import { runInContext } from '../context/request-context.ts';
import { ApiError, malformedRequest, notFound } from '../errors/catalogue.ts';
import type { Tracer } from '../observability/tracing.ts';
import { clientErrorHandler } from './client-errors.ts';
import { errorBody } from './error-body.ts';
import { toApiError } from './error-mapping.ts';
import { type BuildInfo, type Collection, registerMetadataRoutes } from './metadata-routes.ts';
import { registerOpenApi, registerOpenApiRoutes } from './openapi.ts';
import { traceRequests } from './request-tracing.ts';
import type { RouteAccess } from './route-access.ts';
import { serverLogging } from './server-logging.ts';

export interface ApiServerSettings {
  readonly bodyLimit: number;
  readonly headerLimit: number;
  readonly readTimeoutMs: number;
  readonly writeTimeoutMs: number;
  readonly corsAllowedOrigins: readonly string[];
}

/**
 * The routes the edge serves behind authentication, handed in by the composition root: the edge knows
 * nothing of Kinds. Each route carries a {@link RouteAccess} config for the authorization policy.
 */
export interface ProtectedRoutes {
  /** Schemas the routes refer to, for the OpenAPI document. */
  readonly schemas: readonly TSchema[];
  /** One OpenAPI tag per collection. */
  readonly tags: readonly { readonly name: string; readonly description: string }[];
  /** The collections the API metadata lists. */
  readonly collections: readonly Collection[];
  register(scope: FastifyInstance): void;
  /** On shutdown: ends what never ends by itself (watch streams). */
  close(): void;
}

/** What the edge reports each answered request to. */
export interface RequestObserver {
  observeRequest(method: string, path: string, code: number, seconds: number): void;
}

export interface ApiServerDependencies {
  readonly settings: ApiServerSettings;
  readonly logger: Logger;
  readonly metrics: RequestObserver;
  readonly newId: () => string;
  readonly build: BuildInfo;
  readonly routes: ProtectedRoutes;
  // Absent when JWT authentication is off.
  readonly access: AccessControl | undefined;
  // Absent when tracing is off.
  readonly tracer?: Tracer;
}

const jsonTypes = ['application/json', 'application/merge-patch+json'];

// Headers that suit an API: no content sniffing, no framing, no referrer, and answers kept by no shared
// cache and revalidated with their ETag. (No Content-Security-Policy: the docs page runs scripts.)
const securityHeaders = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'private, no-cache',
};

// The API server: the generic edge (operation id, CORS, compression, body parsing, errors, logs,
// metrics, authentication) around the metadata routes and the protected routes it is given.
export async function buildApiServer(deps: ApiServerDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    ...serverLogging(deps.logger),
    genReqId: (request) => operationIdFor(request, deps.newId),
    bodyLimit: deps.settings.bodyLimit,
    // --http-read-timeout bounds receiving a whole request (headers and body), so a slow client cannot
    // hold a connection; Node checks it every connectionsCheckingInterval. --http-write-timeout closes a
    // connection left inactive that long, a response included.
    requestTimeout: deps.settings.readTimeoutMs,
    connectionTimeout: deps.settings.writeTimeoutMs,
    http: {
      headersTimeout: deps.settings.readTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, deps.settings.readTimeoutMs / 2)),
      maxHeaderSize: deps.settings.headerLimit,
    },
    return503OnClosing: false,
    clientErrorHandler: clientErrorHandler(deps.newId),
    // Errors Fastify raises before routing (a URL that does not decode) get the Error body too.
    // They run no hooks, so the operation id header and the request's log line and metrics are added here.
    frameworkErrors: (error, request, reply) => {
      reply.header(operationIdHeader, request.id);
      sendError(error, request, reply);
      observe(deps, request, reply);
    },
    // Long enough for any id a client may try; longer ones are answered 404 by error-mapping.ts.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 4096 },
  });
  // Request bodies are checked by the Kind framework (body.ts) and query strings by list-params.ts,
  // whose messages are the documented contract; route schemas document the API and shape responses.
  app.setValidatorCompiler(() => (value) => ({ value }));
  // Responses are built by presenters exactly as the schemas document them (the contract tests check
  // it), so they need no serializer compiled from the schemas: V8's JSON.stringify is faster (a list of
  // 100: 0.69 -> 0.77 of the baseline), and nothing is compiled at start-up.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  if (deps.tracer) traceRequests(app, deps.tracer, isWatch);

  // Hooks of every request take `done` rather than returning a promise: one promise fewer each.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(operationIdHeader, request.id).headers(securityHeaders);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    observe(deps, request, reply);
    done();
  });
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler(async (request) => {
    throw notFound(`The requested resource '${request.url.split('?')[0]}' doesn't exist`);
  });
  registerJsonParser(app);
  // Every method Node's parser knows reaches the router, so a known path answers 405, not 404.
  for (const method of METHODS) {
    if (method !== 'CONNECT' && !app.supportedMethods.includes(method)) app.addHttpMethod(method);
  }
  // On shutdown, watch streams are ended (they never end by themselves) and every response still
  // being served closes its connection: a client's kept-alive connection must not hold the process up.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    deps.routes.close();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  app.decorateRequest('account', undefined);
  // The audit context of the handler: set after authentication and body parsing (a context entered
  // earlier would be lost in the body stream's callbacks), and the handler runs inside it.
  const access = deps.access;
  app.addHook('preHandler', (request, _reply, done) => {
    const account = request.account;
    const actor = account?.username || 'anonymous';
    const caller = account && access ? access.caller(account) : undefined;
    runInContext({ actor, operationId: request.id, caller }, done);
  });

  await app.register(fastifyCors, {
    origin: deps.settings.corsAllowedOrigins.length > 0 ? [...deps.settings.corsAllowedOrigins] : false,
    methods: ['GET', 'POST', 'PATCH', 'DELETE'],
    // ETag too: a browser client needs it for If-Match, as every other client does.
    exposedHeaders: ['Location', 'X-Operation-ID', 'ETag', 'Retry-After'],
    maxAge: 600,
    // An OPTIONS that is not a well-formed preflight is answered as one (without an allowed origin, no
    // browser may use the answer) rather than refused with the plugin's plain-text 400: every error
    // this service sends is an Error body.
    strictPreflight: false,
  });
  await app.register(fastifyCompress, { global: true, encodings: ['br', 'gzip', 'deflate'] });
  await registerOpenApi(app, deps.build.version, deps.routes.schemas, deps.routes.tags);
  registerMetadataRoutes(app, deps.build, deps.routes.collections);
  await registerOpenApiRoutes(app);
  // The protected routes live in their own scope: only they need a token.
  await app.register(async (scope) => {
    if (access) {
      scope.addHook('onRequest', async (request) => {
        // In the request's context already, so a fetch of the identity provider's keys carries its id.
        request.account = await runInContext({ actor: 'anonymous', operationId: request.id }, () =>
          access.authenticate(request.headers),
        );
        const { kind, verb } = request.routeOptions.config;
        if (kind && verb) access.authorize(request.account, kind, verb);
      });
    }
    deps.routes.register(scope);
  });
  return app;
}

function isWatch(request: FastifyRequest): boolean {
  return (request.query as Record<string, unknown> | undefined)?.watch === 'true';
}

const methodsWithBodies = new Set(['POST', 'PUT', 'PATCH']);
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// JSON bodies, decoded strictly (JSON text is UTF-8: invalid bytes are refused, not replaced). A body of
// any other type is 415, but an empty one is no body at all (a DELETE with a stray Content-Type).
function registerJsonParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(jsonTypes, { parseAs: 'buffer' }, (_request, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      return done(malformedRequest('the request body is not valid UTF-8'), undefined);
    }
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(malformedRequest(`the request body is not valid JSON: ${(error as Error).message}`), undefined);
    }
  });
  // Decided from the headers, without reading what is refused anyway. Only a method that takes no body
  // (a DELETE with a stray Content-Type) gets past with an empty one.
  app.addContentTypeParser('*', (request, _payload, done) => {
    const { 'content-length': length, 'transfer-encoding': encoding } = request.headers;
    const empty = encoding === undefined && (length === undefined || length === '0');
    if (empty && !methodsWithBodies.has(request.method)) return done(null, undefined);
    done(new ApiError('UnsupportedMediaType'), undefined);
  });
}

function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { apiError, unexpected } = toApiError(error);
  if (unexpected) {
    request.log.error({ err: error }, 'request failed unexpectedly');
  } else if (apiError.entry.httpStatus >= 500) {
    request.log.warn({ err: error, code: apiError.entry.code }, apiError.message);
  }
  return reply
    .code(apiError.entry.httpStatus)
    .headers(apiError.headers)
    .type('application/json')
    .serializer(JSON.stringify)
    .send(errorBody(apiError.entry, apiError.message, request.id));
}

// A route's label in metrics and logs: its template with each parameter as `-`, worked out once per route.
const routeLabels = new Map<string | undefined, string>();
function routeLabel(template: string | undefined): string {
  let label = routeLabels.get(template);
  if (label === undefined) {
    label = template === undefined ? 'unmatched' : template.replace(/:[^/]+/g, '-');
    routeLabels.set(template, label);
  }
  return label;
}

function observe(deps: ApiServerDependencies, request: FastifyRequest, reply: FastifyReply): void {
  const path = routeLabel(request.routeOptions.url);
  const status = reply.statusCode;
  deps.metrics.observeRequest(request.method, path, status, reply.elapsedTime / 1000);
  request.log.info(
    {
      method: request.method,
      route: path,
      status,
      duration_ms: Math.round(reply.elapsedTime * 100) / 100,
      username: request.account?.username,
    },
    'request',
  );
}
