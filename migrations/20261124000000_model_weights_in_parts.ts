import type { Kysely } from 'kysely';

/**
 * A round's model weights are stored in parts of about a megabyte, each its own statement, instead
 * of one value in `round.artifact_weights`. A model trained on 36k labels weighs 11 MB: written at
 * once, its log records held up the commits of every label stored meanwhile for 90–120 ms. Rounds
 * saved before keep their weights where they are.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('round_weights')
    .addColumn('round_id', 'integer', (col) => col.notNull().references('round.round_id').onDelete('cascade'))
    .addColumn('part', 'integer', (col) => col.notNull())
    .addColumn('bytes', 'bytea', (col) => col.notNull())
    .addPrimaryKeyConstraint('round_weights_pkey', ['round_id', 'part'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('round_weights').execute();
}
