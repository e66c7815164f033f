import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { TSchema } from 'typebox';
import type { Config } from '../../config/config.ts';
import type { Db } from '../../db/database.ts';
import type { NamedMigration } from '../../db/migrator.ts';
import type { EventCondition, EventHandler, KindControllers } from '../../events/controllers.ts';
import type { Lease } from '../../events/lease-workers.ts';
import type { HttpClient } from '../../outbound/http-client.ts';
import type { Fields } from './fields.ts';
import type { KindDefinition } from './kind.ts';
import type { KindRules } from './rules.ts';
import type { Scope } from './scope.ts';
import type { KindService, Stamps, StoredForms } from './service.ts';

/** What the composition root hands every plugin hook. */
export interface PluginContext {
  /** The configuration this process started with. */
  readonly config: Config;
  /** The main pool, and its URL for a plugin that opens a few connections of its own. */
  readonly database: { readonly url: string; readonly db: Db };
  /** The process's logger. */
  readonly logger: Logger;
  /** Every Kind whose resources change (all but the read-only ones): the sources of events. */
  readonly kinds: readonly KindDefinition[];
  /** The process's metrics registry: a plugin registers its own metrics on it. */
  readonly metrics: Registry;
  /** The one outbound HTTP client (metrics by host, operation id, timeouts). */
  readonly outbound: HttpClient;
  /** A new id (a KSUID), as resources and events get. */
  readonly newId: () => string;
  /** This process's claim owner and lease, for work claimed from a table as events are. */
  readonly lease: Lease;
  /**
   * Whether the authorization policy grants `verb` on `kind` to a caller with these claims (always,
   * with authorization off): for work done later on a caller's behalf, such as a webhook's deliveries.
   */
  grants(claims: Readonly<Record<string, unknown>> | undefined, kind: string, verb: string): boolean;
  /**
   * A service for another Kind-shaped table the plugin serves (a read-only sub-collection), with the
   * rules, stamps and scope given.
   */
  serviceFor<G extends Fields>(kind: KindDefinition<G>, extensions?: KindExtensions<G>): KindService<G>;
}

/** A hook's context for a Kind's own code: the plugin context and the Kind's own (typed) service. */
export interface KindContext<F extends Fields = Fields> extends PluginContext {
  /** The Kind's service, the one way to its rows (traced when tracing is on). */
  readonly service: KindService<F>;
}

/**
 * Routes a Kind serves besides its collection and items (a sub-collection, an action), behind the same
 * authentication. Each route's config names the Kind and verb the policy checks; `schemas` are
 * registered for the OpenAPI document.
 */
export interface KindRoutes {
  /** The schemas the routes refer to, each registered once by its `$id`. */
  readonly schemas: readonly TSchema[];
  /** Adds the routes to the authenticated scope, at full paths (`${kindHref(apiBase, kind)}/...`). */
  register(app: FastifyInstance): void;
}

/** Long-running work a plugin runs in every `trex serve` process that handles events (not the api role). */
export interface BackgroundWork {
  /** Runs for every event of every Kind, before the Kinds' own controllers; idempotent like them. */
  readonly onEvent?: EventHandler;
  /**
   * A test over the event's row (`e`, a row of `events`) that holds whenever `onEvent` has something to
   * do for the event. The claim that takes the event evaluates it, and where it is false `onEvent` is not
   * called: a cheap test the handler would otherwise make with a statement of its own.
   */
  readonly onEventWhen?: EventCondition;
  /** Called once the servers listen. */
  start?(): void;
  /** Called on shutdown, after the servers closed: wait for the work in flight, close what was opened. */
  stop?(): Promise<void>;
}

/**
 * What a Kind adds to what the framework derives from its definition; every member optional. A
 * generated Kind's `extensions.ts` (yours: written once, never regenerated) exports one.
 */
export interface KindExtensions<F extends Fields = Fields> {
  /** Rules beyond the field types, checked on every create and every patch that changes something. */
  rules?(context: PluginContext): KindRules<F>;
  /** Reactions to the Kind's own events (OnUpsert, OnDelete). */
  controllers?(context: KindContext<F>): KindControllers;
  /** More routes than the collection and its items. */
  routes?(context: KindContext<F>): KindRoutes;
  /** Work that runs beside the requests (a dispatcher, a poller, a scheduled job). */
  background?(context: KindContext<F>): BackgroundWork;
  /**
   * Columns the service sets on every create and update from the request's context (who wrote the
   * row), never from a body. They are not fields: never shown, searched, or copied into events.
   */
  stamps?(context: PluginContext): Stamps;
  /**
   * How write-only text fields are stored (a secret sealed at rest): a function per field from the value
   * a write gives to what its column holds. Whoever reads the column (not the API: it never shows
   * write-only fields) turns it back.
   */
  storedForms?(context: PluginContext): StoredForms;
  /**
   * The rows the current caller may see: a condition the Kind's lists and its reads and writes by id
   * add (not its watch streams, nor a reference to one of its rows: a Kind that needs those scoped too
   * checks them in its rules).
   */
  scope?(context: PluginContext): Scope;
}

/**
 * Everything the composition root needs to serve one Kind: its definition and migrations, and what it
 * adds. Adding a Kind is one folder plus one entry in `src/kinds/plugins.ts`.
 */
export interface KindPlugin<F extends Fields = Fields, N extends string = string> extends KindExtensions<F> {
  /** The Kind's definition (defineKind). */
  readonly kind: KindDefinition<F, N>;
  /** The Kind's table and its later changes; their ids (`YYYYMMDDHHMM_name`) sort in the order they apply. */
  readonly migrations: readonly NamedMigration[];
  /** Only the GET routes, no writes and no watch (the events API). */
  readonly readOnly?: boolean;
}

/**
 * Types a plugin from its Kind alone (`NoInfer`: a hook written for any Kind does not widen it), so
 * its hooks see the Kind's fields with their types.
 */
export function definePlugin<F extends Fields, N extends string>(
  plugin: { readonly kind: KindDefinition<F, N> } & Omit<KindPlugin<NoInfer<F>>, 'kind'>,
): KindPlugin<F, N> {
  return plugin;
}
