import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import type { Database, Db } from './database.ts';

/**
 * A database handle that never connects: it compiles PostgreSQL's SQL, and every statement answers no
 * rows. For building what takes a handle but must run no SQL (the OpenAPI document).
 */
export function offlineDatabase(): Db {
  return new Kysely<Database>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (instance) => new PostgresIntrospector(instance),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
}
