import { sql } from 'kysely';
import type { AnnotationSource, Executor } from '../db/schema.js';

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

export interface HumanLabel {
  itemId: number;
  label: string;
  annotator: string;
  durationMs: number | null;
  idempotencyKey: string | null;
}

/**
 * Records human labels in one round trip and one commit (`record_human_labels`, see its
 * migrations): for each decision, locks the item, appends the annotation as the next version of
 * this annotator's label unless the item already has all the labels it needs from others, and
 * moves the item's current label, label count and lease along. Outcomes come back in the order of
 * `decisions`. `not_stored` covers both a repeated idempotency key and an item labeled by others;
 * the caller tells them apart.
 */
export async function recordHumanLabels(db: Executor, decisions: readonly HumanLabel[]): Promise<LabelOutcome[]> {
  const { rows } = await sql<{
    ord: number;
    item_found: boolean;
    label_found: boolean;
    annotation_id: number | null;
    created_at: Date | null;
    version: number | null;
  }>`select * from record_human_labels(
      ${decisions.map((d) => d.itemId)}::int[], ${decisions.map((d) => d.label)}::text[],
      ${decisions.map((d) => d.annotator)}::text[], ${decisions.map((d) => d.durationMs)}::int[],
      ${decisions.map((d) => d.idempotencyKey)}::text[])`.execute(db);
  const outcomes = new Array<LabelOutcome>(decisions.length);
  for (const r of rows) {
    const d = decisions[r.ord - 1];
    outcomes[r.ord - 1] = !r.item_found
      ? { kind: 'item_not_found' }
      : !r.label_found
        ? { kind: 'label_not_found' }
        : r.annotation_id === null
          ? { kind: 'not_stored' }
          : {
              kind: 'stored',
              annotation: {
                id: r.annotation_id,
                itemId: d.itemId,
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
  return outcomes;
}

/** Whether anyone stored a label (in any project) in the last `seconds`. */
export async function labeledWithin(db: Executor, seconds: number): Promise<boolean> {
  const { rows } = await sql<{ recent: boolean }>`
    select coalesce((select created_at > now() - make_interval(secs => ${seconds})
                     from annotation order by annotation_id desc limit 1), false) as recent`.execute(db);
  return rows[0].recent;
}

export async function annotatorProgress(
  db: Executor,
  projectId: number,
  annotator: string,
  dayStart?: Date,
): Promise<{ labeledToday: number; labeledTotal: number; averageMs: number | null }> {
  const { rows } = await sql<{ today: number; total: number; average_ms: number | null }>`
    select count(distinct item_id) filter (where created_at >= d.start)::int as today,
           count(distinct item_id)::int as total,
           (avg(duration_ms) filter (where created_at >= d.start))::float8 as average_ms
    from annotation, (select coalesce(${dayStart ?? null}::timestamptz, date_trunc('day', now())) as start) d
    where project_id = ${projectId} and annotator = ${annotator} and source = 'human'`.execute(db);
  const r = rows[0];
  return { labeledToday: r.today, labeledTotal: r.total, averageMs: r.average_ms === null ? null : Math.round(r.average_ms) };
}
