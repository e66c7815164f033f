import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { type TSchema, Type } from 'typebox';
import { apiBase, serviceName } from '../service-name.ts';

export const errorSchema = Type.Object(
  {
    kind: Type.Literal('Error'),
    id: Type.String({ description: 'The error code, as a string' }),
    href: Type.String(),
    code: Type.String({ description: `"${serviceName}-<code>"` }),
    reason: Type.String(),
    operation_id: Type.Optional(Type.String()),
  },
  { $id: 'Error' },
);

export const errorListSchema = Type.Object(
  {
    kind: Type.Literal('ErrorList'),
    page: Type.Integer(),
    size: Type.Integer(),
    total: Type.Integer(),
    items: Type.Array(Type.Ref('Error')),
  },
  { $id: 'ErrorList' },
);

export const errorResponses = {
  '4xx': { description: 'Error (see /errors for the catalogue)', $ref: 'Error#' },
  '5xx': { description: 'Error (see /errors for the catalogue)', $ref: 'Error#' },
};

// Registers the shared schemas and the OpenAPI generator. Call before any route is added, so the
// document sees them all; every schema is registered once by $id and referenced by name.
export async function registerOpenApi(
  app: FastifyInstance,
  version: string,
  schemas: readonly TSchema[],
): Promise<void> {
  for (const schema of [errorSchema, errorListSchema, ...schemas]) app.addSchema(schema);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: `${serviceName} API`,
        version,
        description: 'A TRex service: REST resources with paging, events and JWT authentication.',
      },
      servers: [{ url: '/' }],
      components: { securitySchemes: { Bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, fragment, i) => String(json.$id ?? fragment ?? `def-${i}`),
    },
  });
}

// `GET /openapi` (the document as JSON) and `GET /openapi.html` (Swagger UI, assets served locally).
export async function registerOpenApiRoutes(app: FastifyInstance): Promise<void> {
  app.get(`${apiBase}/openapi`, { schema: { hide: true } }, async () => app.swagger());
  await app.register(fastifySwaggerUi, {
    routePrefix: `${apiBase}/openapi.html`,
    uiConfig: { docExpansion: 'list', deepLinking: false },
  });
}
