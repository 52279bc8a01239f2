import { type Kysely, sql, type Transaction } from 'kysely';
import type { AnnotationSource, Database } from '../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

export interface NewAnnotation {
  itemId: number;
  labelId: number;
  annotator: string;
  source: AnnotationSource;
}

/** Appends annotations in one statement; annotations are never updated or deleted. */
export async function insertAnnotations(db: Executor, projectId: number, rows: readonly NewAnnotation[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    insert into annotation (item_id, project_id, label_id, annotator, source)
    select t.item_id, ${projectId}, t.label_id, t.annotator, t.source
    from unnest(${rows.map((r) => r.itemId)}::int[], ${rows.map((r) => r.labelId)}::int[],
                ${rows.map((r) => r.annotator)}::text[], ${rows.map((r) => r.source)}::text[])
      as t(item_id, label_id, annotator, source)`.execute(db);
}
