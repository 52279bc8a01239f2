import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('project')
    .addColumn('project_id', 'integer', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('kind', 'text', (col) => col.notNull().check(sql`kind in ('text', 'vector', 'image')`))
    .addColumn('guidelines', 'text', (col) => col.notNull().defaultTo(''))
    .addColumn('vector_dim', 'integer')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('label')
    .addColumn('label_id', 'integer', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('project_id', 'integer', (col) => col.notNull().references('project.project_id').onDelete('cascade'))
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('hotkey', 'text')
    .addColumn('position', 'integer', (col) => col.notNull())
    .addUniqueConstraint('label_project_name_key', ['project_id', 'name'])
    .addUniqueConstraint('label_project_hotkey_key', ['project_id', 'hotkey'])
    .execute();

  await db.schema
    .createTable('item')
    .addColumn('item_id', 'integer', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('project_id', 'integer', (col) => col.notNull().references('project.project_id').onDelete('cascade'))
    .addColumn('external_id', 'text', (col) => col.notNull())
    .addColumn('text', 'text')
    .addColumn('features', 'jsonb')
    .addColumn('image', 'text')
    // The current human label, derived from the newest annotation; annotations stay the record.
    .addColumn('label_id', 'integer', (col) => col.references('label.label_id'))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('item_project_external_id_key', ['project_id', 'external_id'])
    .execute();
  await db.schema.createIndex('item_project_item_idx').on('item').columns(['project_id', 'item_id']).execute();
  await db.schema
    .createIndex('item_unlabeled_idx')
    .on('item')
    .columns(['project_id', 'item_id'])
    .where(sql.ref('label_id'), 'is', null)
    .execute();
  await db.schema
    .createIndex('item_labeled_idx')
    .on('item')
    .columns(['project_id', 'item_id'])
    .where(sql.ref('label_id'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('item_project_label_idx')
    .on('item')
    .columns(['project_id', 'label_id', 'item_id'])
    .where(sql.ref('label_id'), 'is not', null)
    .execute();

  await db.schema
    .createTable('annotation')
    .addColumn('annotation_id', 'integer', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('item_id', 'integer', (col) => col.notNull().references('item.item_id').onDelete('cascade'))
    .addColumn('project_id', 'integer', (col) => col.notNull().references('project.project_id').onDelete('cascade'))
    .addColumn('label_id', 'integer', (col) => col.notNull().references('label.label_id'))
    .addColumn('annotator', 'text', (col) => col.notNull())
    .addColumn('source', 'text', (col) => col.notNull().check(sql`source in ('human', 'import')`))
    .addColumn('duration_ms', 'integer')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('annotation_item_idx')
    .on('annotation')
    .columns(['item_id', 'annotation_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('annotation').execute();
  await db.schema.dropTable('item').execute();
  await db.schema.dropTable('label').execute();
  await db.schema.dropTable('project').execute();
}
