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

export interface AnnotationRecord {
  id: number;
  itemId: number;
  projectId: number;
  label: string;
  annotator: string;
  source: AnnotationSource;
  durationMs: number | null;
  createdAt: Date;
  version: number;
  idempotencyKey: string | null;
}

function annotationQuery(db: Executor) {
  return db
    .selectFrom('annotation as a')
    .innerJoin('label as l', 'l.label_id', 'a.label_id')
    .select([
      'a.annotation_id',
      'a.item_id',
      'a.project_id',
      'l.name as label',
      'a.annotator',
      'a.source',
      'a.duration_ms',
      'a.created_at',
      'a.version',
      'a.idempotency_key',
    ]);
}

type AnnotationQueryRow = Awaited<ReturnType<ReturnType<typeof annotationQuery>['executeTakeFirstOrThrow']>>;

function toAnnotation(r: AnnotationQueryRow): AnnotationRecord {
  return {
    id: r.annotation_id,
    itemId: r.item_id,
    projectId: r.project_id,
    label: r.label,
    annotator: r.annotator,
    source: r.source,
    durationMs: r.duration_ms,
    createdAt: r.created_at,
    version: r.version,
    idempotencyKey: r.idempotency_key,
  };
}

export async function findAnnotationByIdempotencyKey(db: Executor, key: string): Promise<AnnotationRecord | undefined> {
  const row = await annotationQuery(db).where('a.idempotency_key', '=', key).executeTakeFirst();
  return row && toAnnotation(row);
}

export async function findAnnotation(db: Executor, annotationId: number): Promise<AnnotationRecord> {
  return toAnnotation(await annotationQuery(db).where('a.annotation_id', '=', annotationId).executeTakeFirstOrThrow());
}

/** How many labels the item carries from this annotator (each change is a new version). */
export async function countVersions(db: Executor, itemId: number, annotator: string): Promise<number> {
  const row = await db
    .selectFrom('annotation')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('item_id', '=', itemId)
    .where('annotator', '=', annotator)
    .executeTakeFirstOrThrow();
  return row.n;
}

export async function insertAnnotation(
  db: Executor,
  values: NewAnnotation & { projectId: number; durationMs: number | null; version: number; idempotencyKey: string | null },
): Promise<number> {
  const row = await db
    .insertInto('annotation')
    .values({
      item_id: values.itemId,
      project_id: values.projectId,
      label_id: values.labelId,
      annotator: values.annotator,
      source: values.source,
      duration_ms: values.durationMs,
      version: values.version,
      idempotency_key: values.idempotencyKey,
    })
    .returning('annotation_id')
    .executeTakeFirstOrThrow();
  return row.annotation_id;
}

export async function annotatorProgress(
  db: Executor,
  projectId: number,
  annotator: string,
): Promise<{ labeledToday: number; labeledTotal: number; averageMs: number | null }> {
  const { rows } = await sql<{ today: number; total: number; average_ms: number | null }>`
    select count(distinct item_id) filter (where created_at >= date_trunc('day', now()))::int as today,
           count(distinct item_id)::int as total,
           (avg(duration_ms) filter (where created_at >= date_trunc('day', now())))::float8 as average_ms
    from annotation
    where project_id = ${projectId} and annotator = ${annotator} and source = 'human'`.execute(db);
  const r = rows[0];
  return { labeledToday: r.today, labeledTotal: r.total, averageMs: r.average_ms === null ? null : Math.round(r.average_ms) };
}
