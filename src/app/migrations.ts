import { createMaintenanceLocks } from '../db/migrations/202612062020_create_maintenance_locks.ts';
import type { NamedMigration } from '../db/migrator.ts';
import { createEvents } from '../events/migrations/202611251400_create_events.ts';
import { addEventAudit } from '../events/migrations/202611251700_add_event_audit.ts';
import { addEventClaims } from '../events/migrations/202612061500_add_event_claims.ts';
import { addEventTenant } from '../events/migrations/202612061859_add_event_tenant.ts';
import { addEventListIndexes } from '../events/migrations/202612062000_add_event_list_indexes.ts';
import { createIdempotencyKeys } from '../kinds/framework/migrations/202611251402_create_idempotency_keys.ts';
import { plugins } from '../kinds/plugins.ts';

// Every migration of the service, in id order: the event pipeline's, the Kind framework's, and each
// plugin's.
export const migrations: readonly NamedMigration[] = [
  createEvents,
  createIdempotencyKeys,
  addEventAudit,
  addEventClaims,
  addEventTenant,
  addEventListIndexes,
  createMaintenanceLocks,
  ...plugins.flatMap((plugin) => plugin.migrations),
].sort((a, b) => a.id.localeCompare(b.id));
