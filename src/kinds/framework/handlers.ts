import type { FastifyReply, FastifyRequest } from 'fastify';
import { currentContext } from '../../context/request-context.ts';
import { validationFailed } from '../../errors/catalogue.ts';
import { apiBase } from '../../service-name.ts';
import { parseCreateBody, parsePatchBody } from './body.ts';
import { requireRelationAccess } from './caller-access.ts';
import { entityTag, ifNoneMatchHolds } from './etag.ts';
import type { IdempotencyKey } from './idempotency.ts';
import type { KindDefinition } from './kind.ts';
import { countApplied, countPreference, nextLink, parseListQuery } from './list-params.ts';
import { kindListable } from './listable.ts';
import { createPresenter, embedRelated } from './presenter.ts';
import type { KindService } from './service.ts';

type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/** The handlers of a Kind's routes; each fails with an ApiError for a request it refuses. */
export interface KindHandlers {
  /** GET on the collection: a page of the list, or with `?watch=true` (when served) a watch stream. */
  readonly list: Handler;
  /** POST on the collection: 201 with Location and ETag; a retry with the same Idempotency-Key replays. */
  readonly create: Handler;
  /** GET on an item, with its ETag; 304 when If-None-Match matches. */
  readonly get: Handler;
  /** PATCH on an item (a JSON merge patch), refused (412) when If-Match does not match. */
  readonly patch: Handler;
  /** DELETE on an item: a soft delete, 204; refused (412) when If-Match does not match. */
  readonly delete: Handler;
}

/** A streaming alternative to the list (`?watch=true`), provided by the events side. */
export type WatchHandler = (
  request: FastifyRequest,
  reply: FastifyReply,
  kind: KindDefinition,
) => Promise<unknown>;

/**
 * The handlers of a Kind's routes. Each follows the same steps: parse and validate, call the
 * service, present. Without `watch`, a list ignores `?watch=true`.
 */
export function kindHandlers(kind: KindDefinition, service: KindService, watch?: WatchHandler): KindHandlers {
  const present = createPresenter(apiBase, kind);
  const listable = kindListable(kind);
  const idOf = (request: FastifyRequest): string => (request.params as { id: string }).id;

  return {
    list: async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      if (watch && query.watch === 'true') return await watch(request, reply, kind);
      const { page, size, where, orderBy, fields, embed, joins, after } = parseListQuery(query, listable);
      requireRelationAccess(kind, joins);
      const preference = countPreference(request.headers.prefer);
      const { rows, total, estimated, next } = await service.list({
        where,
        orderBy,
        offset: (page - 1) * size,
        limit: size,
        joins,
        embed,
        after,
        ...(preference ? { count: { mode: preference, limit: 0 } } : {}),
      });
      reply.header('Preference-Applied', countApplied(estimated));
      if (next) reply.header('Link', nextLink(request.url, next));
      const embedded = embed.length > 0 ? embedRelated(kind, embed) : undefined;
      const items = embedded
        ? rows.map((row) => {
            const resource = present(row);
            embedded(resource, row);
            return resource;
          })
        : rows.map(present);
      const list = { kind: `${kind.name}List`, page, size: rows.length, total, items };
      if (!fields) return list;
      // Projected items lack properties the response schema requires: serialise them as they are.
      return reply
        .type('application/json; charset=utf-8')
        .serializer(JSON.stringify)
        .send({ ...list, items: list.items.map(project(fields)) });
    },
    create: async (request, reply) => {
      const values = parseCreateBody(kind, request.body);
      const row = await service.create(values, idempotencyKey(request, kind));
      const resource = present(row);
      return reply.code(201).header('Location', resource.href).header('ETag', entityTag(row)).send(resource);
    },
    get: async (request, reply) => {
      const row = await service.get(idOf(request));
      const tag = entityTag(row);
      reply.header('ETag', tag);
      const ifNoneMatch = request.headers['if-none-match'];
      if (ifNoneMatch !== undefined && !ifNoneMatchHolds(ifNoneMatch, tag)) return reply.code(304).send();
      return present(row);
    },
    patch: async (request, reply) => {
      const id = idOf(request);
      const changes = parsePatchBody(kind, request.body, id);
      const row = await service.patch(id, changes, { ifMatch: request.headers['if-match'] });
      return reply.header('ETag', entityTag(row)).send(present(row));
    },
    delete: async (request, reply) => {
      await service.delete(idOf(request), { ifMatch: request.headers['if-match'] });
      return reply.code(204).send();
    },
  };
}

const idempotencyKeyFormat = /^[\x21-\x7e]{1,255}$/;

function idempotencyKey(request: FastifyRequest, kind: KindDefinition): IdempotencyKey | undefined {
  const key = request.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !idempotencyKeyFormat.test(key)) {
    throw validationFailed('Idempotency-Key must be 1 to 255 visible ASCII characters');
  }
  const caller = `${kind.plural}:${request.account?.username ?? ''}`;
  // With tenancy, a key is the caller's within its tenant: the same username in another tenant never
  // replays this one's create.
  const tenancy = currentContext().caller?.tenancy;
  return { scope: tenancy ? JSON.stringify([caller, tenancy.tenant ?? null]) : caller, key };
}

// Keeps only the requested properties of a presented resource.
function project(fields: readonly string[]): (resource: object) => Record<string, unknown> {
  return (resource) => Object.fromEntries(Object.entries(resource).filter(([name]) => fields.includes(name)));
}
