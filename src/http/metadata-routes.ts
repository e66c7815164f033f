import type { FastifyInstance } from 'fastify';
import { findErrorEntry, notFound } from '../errors/catalogue.ts';
import { apiBase, apiRoot } from '../service-name.ts';
import { catalogueBodies, errorBody } from './error-body.ts';
import { errorResponses } from './openapi.ts';
import { defineResource } from './resource-routes.ts';

export interface Collection {
  readonly id: string;
  readonly kind: string;
}

export interface BuildInfo {
  readonly version: string;
  readonly buildTime: string;
}

// The public routes of SPEC §5: API and version metadata, and the error catalogue.
export function registerMetadataRoutes(
  app: FastifyInstance,
  build: BuildInfo,
  collections: readonly Collection[],
): void {
  const tags = ['metadata'];
  defineResource(app, apiRoot, {
    GET: {
      schema: { tags, summary: 'API metadata', response: errorResponses },
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
      schema: { tags, summary: 'API version 1 and its collections', response: errorResponses },
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
        tags,
        summary: 'The error catalogue',
        response: { 200: { $ref: 'ErrorList#' }, ...errorResponses },
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
        tags,
        summary: 'One error of the catalogue',
        response: { 200: { $ref: 'Error#' }, ...errorResponses },
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
