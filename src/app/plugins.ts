import type { NamedMigration } from '../db/migrator.ts';
import { createEvents } from '../events/migrations/202611251400_create_events.ts';
import { addEventAudit } from '../events/migrations/202611251700_add_event_audit.ts';
import { addEventClaims } from '../events/migrations/202612061500_add_event_claims.ts';
import { dinosaurPlugin } from '../kinds/dinosaurs/plugin.ts';
import { fossilPlugin } from '../kinds/fossils/plugin.ts';
import { createIdempotencyKeys } from '../kinds/framework/migrations/202611251402_create_idempotency_keys.ts';
import type { KindPlugin } from '../kinds/framework/plugin.ts';
import { webhookPlugin } from '../kinds/webhooks/plugin.ts';

// The Kinds this service serves, in one explicit list (no registration by import side effect).
// `trex generate` adds each new Kind's import and entry here.
export const plugins: readonly KindPlugin[] = [dinosaurPlugin, fossilPlugin, webhookPlugin];

export const migrations: readonly NamedMigration[] = [
  createEvents,
  createIdempotencyKeys,
  addEventAudit,
  addEventClaims,
  ...plugins.flatMap((plugin) => plugin.migrations),
].sort((a, b) => a.id.localeCompare(b.id));
