import { type Kysely, sql } from 'kysely';
import type { NamedMigration } from '../../../db/migrator.ts';

// `species` is indexed (model.ts): besides its hash index (=, in), a prefix index serves `like 'T%'`
// and an order index `orderBy=species` (docs/performance.md#big-tables). Both hold the first 200
// characters, so a species of any length is stored.
export const addSpeciesPrefixIndex: NamedMigration = {
  id: '202612062001_add_species_prefix_index',
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`create index dinosaurs_species_prefix on dinosaurs (left(species, 200) text_pattern_ops)
      where deleted_at is null`.execute(db);
    await sql`create index dinosaurs_species_order on dinosaurs (left(species, 200)) where deleted_at is null`.execute(
      db,
    );
  },
};
