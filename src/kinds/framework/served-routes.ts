import type { ProtectedRoutes } from '../../http/api-server.ts';
import { apiBase } from '../../service-name.ts';
import type { WatchHandler } from './handlers.ts';
import type { KindDefinition } from './kind.ts';
import type { KindRoutes } from './plugin.ts';
import { registerKindRoutes } from './routes.ts';
import { kindSchemas } from './schemas.ts';
import type { KindService } from './service.ts';

/** A Kind as the API serves it: its service, and the routes its plugin adds. */
export interface ServedKind {
  /** The Kind whose collection and items are served. */
  readonly kind: KindDefinition;
  /** The service its handlers call. */
  readonly service: KindService;
  /** Only the GET routes, no writes and no watch (the events API). */
  readonly readOnly?: boolean | undefined;
  /** Routes its plugin adds besides the collection and its items. */
  readonly routes?: KindRoutes | undefined;
}

/** The watch streams, as the routes use them. */
export interface Watch {
  /** Answers a list's `?watch=true` with a stream of server-sent events. */
  readonly handle: WatchHandler;
  /** Ends every open stream, so a shutdown does not wait for watchers. */
  closeAll(): void;
}

/** Every Kind's routes, schemas and OpenAPI tags, for the edge to serve behind authentication. */
export function servedRoutes(kinds: readonly ServedKind[], watch: Watch): ProtectedRoutes {
  return {
    // A read-only Kind (the events API) takes no bodies, so it has no request schemas.
    schemas: kinds.flatMap(({ kind, readOnly, routes }) => {
      const { resource, list, createRequest, patchRequest } = kindSchemas(kind, apiBase);
      return [
        ...(readOnly ? [resource, list] : [resource, list, createRequest, patchRequest]),
        ...(routes?.schemas ?? []),
      ];
    }),
    tags: kinds.map(({ kind, readOnly }) => ({
      name: kind.plural,
      description: readOnly
        ? `${kind.name} resources (read-only)`
        : `${kind.name} resources: list, watch, create, get, update and delete`,
    })),
    collections: kinds.map(({ kind }) => ({ id: kind.plural, kind: kind.name })),
    register(scope) {
      for (const { kind, service, readOnly, routes } of kinds) {
        registerKindRoutes(scope, kind, service, { readOnly, watch: readOnly ? undefined : watch.handle });
        routes?.register(scope);
      }
    },
    close: () => watch.closeAll(),
  };
}
