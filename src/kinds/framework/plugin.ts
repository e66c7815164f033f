import type { NamedMigration } from '../../db/migrator.ts';
import type { KindDefinition } from './kind.ts';

// Everything the composition root needs to serve one Kind: its definition and its migrations.
// Adding a Kind is one folder plus one line in app/plugins.ts.
export interface KindPlugin {
  readonly kind: KindDefinition;
  readonly migrations: readonly NamedMigration[];
}
