import type { Logger } from 'pino';
import type { NamedMigration } from '../../db/migrator.ts';
import type { KindControllers } from '../../events/controllers.ts';
import type { KindDefinition } from './kind.ts';
import type { KindService } from './service.ts';

// Everything the composition root needs to serve one Kind: its definition, its migrations and its
// controllers. Adding a Kind is one folder plus one line in app/plugins.ts.
export interface KindPlugin {
  readonly kind: KindDefinition;
  readonly migrations: readonly NamedMigration[];
  readonly controllers?: (service: KindService, logger: Logger) => KindControllers;
}
