import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { type TSchema, Type } from 'typebox';
import { apiBase, apiRoot, serviceName } from '../service-name.ts';
import { exampleId, exampleOperationId, exampleTimestamp } from './openapi-examples.ts';
import { errorResponses } from './openapi-responses.ts';
import { defineResource } from './resource-routes.ts';

export const errorSchema = Type.Object(
  {
    kind: Type.Literal('Error'),
    id: Type.String({ description: 'The error code, as a string' }),
    href: Type.String({ description: 'The catalogue entry of the code' }),
    code: Type.String({ description: `"${serviceName}-<code>"` }),
    reason: Type.String({ description: 'What went wrong, for a person to read' }),
    operation_id: Type.Optional(
      Type.String({ description: 'The X-Operation-ID of the request, to find it in the logs' }),
    ),
  },
  {
    $id: 'Error',
    description: `Every error, from every layer, has this body (codes: GET ${apiBase}/errors)`,
    examples: [
      {
        kind: 'Error',
        id: '7',
        href: `${apiBase}/errors/7`,
        code: `${serviceName}-7`,
        reason: `Dinosaur with id='${exampleId}' not found`,
        operation_id: exampleOperationId,
      },
    ],
  },
);

export const errorListSchema = Type.Object(
  {
    kind: Type.Literal('ErrorList'),
    page: Type.Integer(),
    size: Type.Integer(),
    total: Type.Integer(),
    items: Type.Array(Type.Ref('Error')),
  },
  { $id: 'ErrorList', description: 'The error catalogue; each item shows the default reason of its code' },
);

export const apiSchema = Type.Object(
  {
    kind: Type.Literal('API'),
    id: Type.String(),
    href: Type.String(),
    version: Type.String({ description: 'The package version' }),
    build_time: Type.String({ description: 'When the image was built, or else when the process started' }),
  },
  {
    $id: 'API',
    examples: [{ kind: 'API', id: 'trex', href: apiRoot, version: '0.1.0', build_time: exampleTimestamp }],
  },
);

export const apiVersionSchema = Type.Object(
  {
    kind: Type.Literal('APIVersion'),
    id: Type.String(),
    href: Type.String(),
    collections: Type.Array(
      Type.Object({
        id: Type.String({ description: 'The collection, e.g. dinosaurs' }),
        href: Type.String(),
        kind: Type.String({ description: 'The kind of its list, e.g. DinosaurList' }),
      }),
    ),
  },
  {
    $id: 'APIVersion',
    examples: [
      {
        kind: 'APIVersion',
        id: 'v1',
        href: apiBase,
        collections: [{ id: 'dinosaurs', href: `${apiBase}/dinosaurs`, kind: 'DinosaurList' }],
      },
    ],
  },
);

// Shared by every route that needs no token.
export const publicRoute = { security: [] };

const description = `A TRex service: REST resources with paging, search, events and JWT authentication.

- Every route but the public ones (metadata, errors, this document) needs \`Authorization: Bearer <JWT>\`.
- Every error is an \`Error\` body; \`GET ${apiBase}/errors\` lists the codes.
- Every response carries \`X-Operation-ID\` (the request's own, when it sends a valid one).
- Any method a path does not serve is answered 405 (code 10) with an \`Allow\` header.
- A trailing slash is accepted on every path; responses are compressed when asked (gzip, deflate, br).`;

// Registers the shared schemas and the OpenAPI generator. Call before any route is added, so the
// document sees them all; every schema is registered once by $id and referenced by name.
export async function registerOpenApi(
  app: FastifyInstance,
  version: string,
  schemas: readonly TSchema[],
  tags: readonly { name: string; description: string }[],
): Promise<void> {
  for (const schema of [errorSchema, errorListSchema, apiSchema, apiVersionSchema, ...schemas]) {
    app.addSchema(schema);
  }
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: `${serviceName} API`,
        version,
        description,
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: '/', description: 'The server this document came from' }],
      tags: [
        { name: 'metadata', description: 'The API, its version, the error catalogue and this document' },
        ...tags,
      ],
      components: {
        securitySchemes: {
          Bearer: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'A JWT signed by a key the service trusts (JWKS file, JWKS URL or OIDC issuer)',
          },
        },
      },
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, fragment, i) => String(json.$id ?? fragment ?? `def-${i}`),
    },
  });
}

// `GET /openapi` (the document as JSON) and `GET /openapi.html` (Swagger UI, assets served locally).
export async function registerOpenApiRoutes(app: FastifyInstance): Promise<void> {
  // A resource like the others: any other method is 405 with Allow, as the document says.
  defineResource(app, `${apiBase}/openapi`, {
    GET: {
      schema: {
        operationId: 'getOpenApi',
        tags: ['metadata'],
        summary: 'This OpenAPI document',
        ...publicRoute,
        response: {
          200: {
            description: 'The OpenAPI 3.1 document, as JSON',
            type: 'object',
            additionalProperties: true,
          },
          ...errorResponses(500),
        },
      },
      handler: async () => app.swagger(),
    },
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: `${apiBase}/openapi.html`,
    uiConfig: { docExpansion: 'list', deepLinking: false },
  });
}
