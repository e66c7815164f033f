import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { findErrorEntry, notFound } from '../errors/catalogue.ts';
import { apiBase, apiRoot } from '../service-name.ts';
import { catalogueBodies, errorBody } from './error-body.ts';
import { publicRoute } from './openapi.ts';
import { errorResponses, notFoundResponse } from './openapi-responses.ts';
import { defineResource } from './resource-routes.ts';

export interface Collection {
  readonly id: string;
  readonly kind: string;
}

export interface BuildInfo {
  readonly version: string;
  readonly buildTime: string;
}

// The public routes (docs/api.md#metadata-endpoints): API and version metadata, and the error catalogue.
export function registerMetadataRoutes(
  app: FastifyInstance,
  build: BuildInfo,
  collections: readonly Collection[],
): void {
  const tags = ['metadata'];
  defineResource(app, apiRoot, {
    GET: {
      schema: {
        operationId: 'getApi',
        tags,
        summary: 'API metadata',
        ...publicRoute,
        response: { 200: { description: 'The API', $ref: 'API#' }, ...errorResponses(500) },
      },
      handler: async () => ({
        kind: 'API',
        id: 'trex',
        href: apiRoot,
        version: build.version,
        build_time: build.buildTime,
      }),
    },
  });
  defineResource(app, apiBase, {
    GET: {
      schema: {
        operationId: 'getApiVersion',
        tags,
        summary: 'API version 1 and its collections',
        ...publicRoute,
        response: { 200: { description: 'The version', $ref: 'APIVersion#' }, ...errorResponses(500) },
      },
      handler: async () => ({
        kind: 'APIVersion',
        id: 'v1',
        href: apiBase,
        collections: collections.map(({ id, kind }) => ({
          id,
          href: `${apiBase}/${id}`,
          kind: `${kind}List`,
        })),
      }),
    },
  });
  defineResource(app, `${apiBase}/errors`, {
    GET: {
      schema: {
        operationId: 'listErrors',
        tags,
        summary: 'The error catalogue',
        ...publicRoute,
        response: { 200: { description: 'Every error code', $ref: 'ErrorList#' }, ...errorResponses(500) },
      },
      handler: async () => {
        const items = catalogueBodies();
        return { kind: 'ErrorList', page: 1, size: items.length, total: items.length, items };
      },
    },
  });
  defineResource(app, `${apiBase}/errors/:code`, {
    GET: {
      schema: {
        operationId: 'getError',
        tags,
        summary: 'One error of the catalogue',
        ...publicRoute,
        params: Type.Object({
          code: Type.String({ description: 'The error code, e.g. 7', examples: ['7'] }),
        }),
        response: {
          200: { description: 'The code with its default reason', $ref: 'Error#' },
          ...errorResponses(500),
          ...notFoundResponse("Error with code='999' not found"),
        },
      },
      handler: async (request) => {
        const { code } = request.params as { code: string };
        const entry = /^\d{1,3}$/.test(code) ? findErrorEntry(Number(code)) : undefined;
        if (!entry) throw notFound(`Error with code='${code}' not found`);
        return errorBody(entry, entry.reason);
      },
    },
  });
}
