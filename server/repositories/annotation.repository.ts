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

export type LabelOutcome =
  | { kind: 'stored'; annotation: AnnotationRecord }
  | { kind: 'item_not_found' | 'label_not_found' | 'not_stored' };

/**
 * Records a human label in one statement: locks the item, appends the annotation (the next
 * version of this annotator's label) unless the item already has all the labels it needs from
 * others, and moves the item's current label, label count and lease along. One round trip keeps
 * the row lock short under many concurrent annotators. `not_stored` covers both a repeated
 * idempotency key and an item labeled by others; the caller tells them apart.
 */
export async function recordHumanLabel(
  db: Executor,
  d: { itemId: number; label: string; annotator: string; durationMs: number | null; idempotencyKey: string | null },
): Promise<LabelOutcome> {
  const { rows } = await sql<{
    item_found: number;
    label_found: number;
    annotation_id: number | null;
    project_id: number | null;
    created_at: Date | null;
    version: number | null;
  }>`
    with target as (
      select i.item_id, i.project_id, i.label_count, p.overlap
      from item i join project p on p.project_id = i.project_id
      where i.item_id = ${d.itemId}
      for update of i
    ), chosen as (
      select l.label_id from label l join target t on l.project_id = t.project_id where l.name = ${d.label}
    ), prior as (
      select count(*)::int as n from annotation a where a.item_id = ${d.itemId} and a.annotator = ${d.annotator}
    ), inserted as (
      insert into annotation (item_id, project_id, label_id, annotator, source, duration_ms, version, idempotency_key)
      select t.item_id, t.project_id, c.label_id, ${d.annotator}, 'human', ${d.durationMs}, prior.n + 1, ${d.idempotencyKey}
      from target t, chosen c, prior
      where prior.n > 0 or t.label_count < t.overlap
      on conflict (idempotency_key) do nothing
      returning annotation_id, item_id, project_id, label_id, created_at, version
    ), updated as (
      update item i set
        label_id = ins.label_id,
        label_count = i.label_count + (prior.n = 0)::int,
        open = i.label_count + (prior.n = 0)::int < t.overlap,
        lease_annotator = case when i.lease_annotator = ${d.annotator} then null else i.lease_annotator end,
        lease_expires_at = case when i.lease_annotator = ${d.annotator} then null else i.lease_expires_at end
      from inserted ins, prior, target t
      where i.item_id = ins.item_id
      returning i.item_id
    )
    select (select count(*) from target)::int as item_found, (select count(*) from chosen)::int as label_found,
           ins.annotation_id, ins.project_id, ins.created_at, ins.version, (select count(*) from updated) as updated
    from (select 1) as one left join inserted ins on true`.execute(db);
  const r = rows[0];
  if (r.item_found === 0) return { kind: 'item_not_found' };
  if (r.label_found === 0) return { kind: 'label_not_found' };
  if (r.annotation_id === null) return { kind: 'not_stored' };
  return {
    kind: 'stored',
    annotation: {
      id: r.annotation_id,
      itemId: d.itemId,
      projectId: r.project_id!,
      label: d.label,
      annotator: d.annotator,
      source: 'human',
      durationMs: d.durationMs,
      createdAt: r.created_at!,
      version: r.version!,
      idempotencyKey: d.idempotencyKey,
    },
  };
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
