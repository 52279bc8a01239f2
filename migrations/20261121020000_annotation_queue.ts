import { type Kysely, sql } from 'kysely';

/**
 * The annotation queue. Queue state lives on the item row itself (lease holder and expiry,
 * label count, priority), so handing an item out is one row lock: `FOR UPDATE SKIP LOCKED`
 * re-checks the very columns a competing lease just changed. The `lease` table mirrors live
 * leases by annotator.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('project')
    .addColumn('holdout_share', 'double precision', (col) => col.notNull().defaultTo(0.1))
    .addColumn('overlap', 'integer', (col) => col.notNull().defaultTo(1))
    .addColumn('lease_seconds', 'integer', (col) => col.notNull().defaultTo(300))
    .execute();

  await db.schema
    .alterTable('item')
    // Drawn once at import; holdout items are those with random_key < the project's share.
    .addColumn('random_key', 'double precision', (col) => col.notNull().defaultTo(sql`random()`))
    .addColumn('holdout', 'boolean', (col) => col.notNull().defaultTo(false))
    // Distinct annotators whose label the item carries; open while fewer than the overlap.
    .addColumn('label_count', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('open', 'boolean', (col) => col.notNull().defaultTo(true))
    .addColumn('lease_annotator', 'text')
    .addColumn('lease_expires_at', 'timestamptz')
    // Written by scoring runs of the promoted model; null before any model exists.
    .addColumn('score', 'real')
    .addColumn('score_strategy', 'text')
    .addColumn('score_round_id', 'integer')
    .addColumn('suggestion_label_id', 'integer', (col) => col.references('label.label_id'))
    .addColumn('suggestion_confidence', 'real')
    .execute();

  // Labels carried over from an import count toward the overlap like any other label.
  await sql`update item set label_count = 1, open = false where label_id is not null`.execute(db);
  await sql`update item set holdout = random_key < 0.1`.execute(db);

  await sql`create index item_queue_idx on item (project_id, score desc nulls last, random_key)
    where open and not holdout`.execute(db);
  await sql`create index item_holdout_queue_idx on item (project_id, random_key) where open and holdout`.execute(db);
  // Leasing rewrites only unindexed columns; free space on each page lets PostgreSQL do that
  // in place (a HOT update) instead of adding entries to every index of a million-row table.
  await sql`alter table item set (fillfactor = 80)`.execute(db);

  // Who holds what, for finding and renewing an annotator's leases; the item row stays the
  // authority on whether an item is free.
  await db.schema
    .createTable('lease')
    .addColumn('item_id', 'integer', (col) => col.primaryKey().references('item.item_id').onDelete('cascade'))
    .addColumn('project_id', 'integer', (col) => col.notNull())
    .addColumn('annotator', 'text', (col) => col.notNull())
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('lease_annotator_idx').on('lease').columns(['project_id', 'annotator']).execute();

  await db.schema
    .alterTable('annotation')
    .addColumn('idempotency_key', 'text', (col) => col.unique())
    .addColumn('version', 'integer', (col) => col.notNull().defaultTo(1))
    .execute();
  await db.schema
    .createIndex('annotation_project_annotator_idx')
    .on('annotation')
    .columns(['project_id', 'annotator', 'created_at'])
    .execute();

  await db.schema
    .createTable('skip')
    .addColumn('item_id', 'integer', (col) => col.notNull().references('item.item_id').onDelete('cascade'))
    .addColumn('annotator', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('skip_pkey', ['item_id', 'annotator'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('skip').execute();
  await db.schema.dropTable('lease').execute();
  await sql`alter table item reset (fillfactor)`.execute(db);
  await db.schema.dropIndex('annotation_project_annotator_idx').execute();
  await db.schema.alterTable('annotation').dropColumn('idempotency_key').dropColumn('version').execute();
  for (const index of ['item_queue_idx', 'item_holdout_queue_idx']) {
    await db.schema.dropIndex(index).execute();
  }
  await db.schema
    .alterTable('item')
    .dropColumn('random_key')
    .dropColumn('holdout')
    .dropColumn('label_count')
    .dropColumn('open')
    .dropColumn('lease_annotator')
    .dropColumn('lease_expires_at')
    .dropColumn('score')
    .dropColumn('score_strategy')
    .dropColumn('score_round_id')
    .dropColumn('suggestion_label_id')
    .dropColumn('suggestion_confidence')
    .execute();
  await db.schema.alterTable('project').dropColumn('holdout_share').dropColumn('overlap').dropColumn('lease_seconds').execute();
}
