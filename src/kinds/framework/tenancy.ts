import { type RawBuilder, type SqlBool, sql } from 'kysely';
import { currentContext } from '../../context/request-context.ts';
import { ApiError } from '../../errors/catalogue.ts';
import type { KindDefinition } from './kind.ts';
import type { Scope } from './scope.ts';

/**
 * The condition that keeps the current caller to its own tenant's rows of `kind` (aliased `alias` in the
 * statement), in SQL. Undefined when none applies: the Kind is not tenant-scoped, tenancy is off
 * (no --tenant-claim), the work is the service's own (no caller), or the policy lets the caller see
 * every tenant. A caller whose token names no tenant may not use a tenant-scoped Kind (403 code 4).
 */
export function tenantCondition(kind: KindDefinition, alias: string): RawBuilder<SqlBool> | undefined {
  const tenant = keptTenant(kind);
  return tenant === undefined ? undefined : sql<SqlBool>`${sql.ref(`${alias}.tenant_id`)} = ${tenant}`;
}

/** The tenant a new row of `kind` belongs to: its writer's ('' with tenancy off or for an administrator without one). */
export function tenantOfNewRow(kind: KindDefinition): string {
  keptTenant(kind);
  return currentContext().caller?.tenancy?.tenant ?? '';
}

/** The tenant the current caller is kept to on `kind`, undefined when it is kept to none (as tenantCondition). */
export function keptTenant(kind: KindDefinition): string | undefined {
  if (!kind.tenantScoped) return undefined;
  const { caller, actor } = currentContext();
  const tenancy = caller?.tenancy;
  if (!tenancy || tenancy.allTenants) return undefined;
  if (tenancy.tenant === undefined) {
    throw new ApiError(
      'Forbidden',
      `Account '${actor}' belongs to no tenant: its token names none, and ${kind.name} resources belong to tenants`,
    );
  }
  return tenancy.tenant;
}

/**
 * For a table of events about every Kind (`table` has `source` and `tenant_id`): only the events of the
 * caller's own tenant, and those of Kinds that belong to no tenant. No condition where tenantCondition
 * would set none; a caller with no tenant sees only the latter.
 */
export function eventsOfCallerTenant(kinds: readonly KindDefinition[], table: string): Scope {
  const global = kinds.filter((kind) => !kind.tenantScoped).map((kind) => kind.eventSource);
  return () => {
    const tenancy = currentContext().caller?.tenancy;
    if (!tenancy || tenancy.allTenants) return undefined;
    const own =
      tenancy.tenant === undefined
        ? sql<SqlBool>`false`
        : sql<SqlBool>`${sql.ref(`${table}.tenant_id`)} = ${tenancy.tenant}`;
    if (global.length === 0) return own;
    return sql<SqlBool>`(${own} or ${sql.ref(`${table}.source`)} in (${sql.join(global)}))`;
  };
}
