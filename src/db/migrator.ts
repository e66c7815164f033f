import { type Kysely, type Migration, Migrator } from 'kysely';

// A migration with an rh-trex style id (`YYYYMMDDHHMM_name`); ids sort in the order they apply.
export interface NamedMigration extends Migration {
  readonly id: string;
}

export interface MigrationResult {
  readonly applied: readonly string[];
}

export class MigrationError extends Error {}

// Applies pending migrations. Kysely's PostgreSQL adapter holds an advisory lock for the whole run, so
// concurrent `trex migrate` processes (many replicas starting at once) apply each migration once.
export async function migrateToLatest(
  // biome-ignore lint/suspicious/noExplicitAny: migrations run against any schema, as Kysely's Migrator expects
  db: Kysely<any>,
  migrations: readonly NamedMigration[],
): Promise<MigrationResult> {
  const byId = new Map<string, Migration>();
  for (const migration of migrations) {
    if (!/^\d{12}_[a-z0-9_]+$/.test(migration.id))
      throw new MigrationError(`bad migration id '${migration.id}'`);
    if (byId.has(migration.id)) throw new MigrationError(`duplicate migration id '${migration.id}'`);
    byId.set(migration.id, migration);
  }
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => Object.fromEntries(byId) },
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) {
    const failed = results.find((result) => result.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(
      `migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return {
    applied: results.filter((result) => result.status === 'Success').map((result) => result.migrationName),
  };
}
