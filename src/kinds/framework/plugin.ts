import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { TSchema } from 'typebox';
import type { Config } from '../../config/config.ts';
import type { Db } from '../../db/database.ts';
import type { NamedMigration } from '../../db/migrator.ts';
import type { KindControllers } from '../../events/controllers.ts';
import type { KindDefinition } from './kind.ts';
import type { KindRules } from './rules.ts';
import type { KindService } from './service.ts';

// What the composition root hands a plugin that needs more than its own service.
export interface PluginContext {
  readonly config: Config;
  readonly db: Db;
  readonly logger: Logger;
  readonly kinds: readonly KindDefinition[]; // every Kind the service serves
}

// Routes a Kind serves besides its collection and items (a read-only sub-collection), behind the same
// authentication; `schemas` are registered for the OpenAPI document.
export interface KindRoutes {
  readonly schemas: readonly TSchema[];
  register(app: FastifyInstance, service: KindService): void;
}

// Everything the composition root needs to serve one Kind: its definition, its migrations and its
// controllers, and optionally rules beyond its field types and more routes. Adding a Kind is one folder
// plus one line in app/plugins.ts.
export interface KindPlugin {
  readonly kind: KindDefinition;
  readonly migrations: readonly NamedMigration[];
  readonly controllers?: (service: KindService, logger: Logger) => KindControllers;
  readonly rules?: (context: PluginContext) => KindRules;
  readonly routes?: (context: PluginContext) => KindRoutes;
}
