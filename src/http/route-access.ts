import type { Verb } from '../auth/access-files.ts';

/** What the authorization policy decides on, attached to each authenticated route as its config. */
export interface RouteAccess {
  readonly kind: string;
  readonly verb: Verb;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    kind?: string;
    verb?: Verb;
  }
}
