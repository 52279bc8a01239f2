import { sql } from 'kysely';
import type { AnnotationSource, Executor } from '../db/schema.js';

export interface NewItem {
  externalId: string;
  text: string | null;
  features: Array<number | null> | null;
  image: string | null;
  labelId: number | null;
}

export interface InsertedItem {
  itemId: number;
  externalId: string;
  labelId: number | null;
}

/**
 * Inserts a batch in one statement; rows whose external id the project already has are left
 * alone, which is what makes a re-import add nothing. Answers only the rows it inserted.
 */
export async function insertItems(
  db: Executor,
  projectId: number,
  items: readonly NewItem[],
  queue: { holdoutShare: number; overlap: number },
): Promise<InsertedItem[]> {
  if (items.length === 0) return [];
  // The random key orders holdout picks and decides membership: a uniform sample of the pool.
  const randomKeys = items.map(() => Math.random());
  const externalIds = items.map((i) => i.externalId);
  const texts = items.map((i) => i.text);
  const features = items.map((i) => (i.features === null ? null : JSON.stringify(i.features)));
  const images = items.map((i) => i.image);
  const labelIds = items.map((i) => i.labelId);
  const { rows } = await sql<{ item_id: number; external_id: string; label_id: number | null }>`
    insert into item (project_id, external_id, text, features, image, label_id, random_key, holdout, label_count, open)
    select ${projectId}, t.external_id, t.text, t.features::jsonb, t.image, t.label_id, t.random_key,
      t.random_key < ${queue.holdoutShare}, (t.label_id is not null)::int, (t.label_id is not null)::int < ${queue.overlap}
    from unnest(${externalIds}::text[], ${texts}::text[], ${features}::text[], ${images}::text[], ${labelIds}::int[],
                ${randomKeys}::float8[])
      as t(external_id, text, features, image, label_id, random_key)
    on conflict (project_id, external_id) do nothing
    returning item_id, external_id, label_id`.execute(db);
  return rows.map((r) => ({ itemId: r.item_id, externalId: r.external_id, labelId: r.label_id }));
}

/**
 * Applies a new holdout share to the items nobody has labeled yet: membership is still decided by
 * each item's random key, so the holdout stays a uniform sample. Labeled holdout items keep their
 * place in the evaluation set.
 */
export async function reassignHoldout(db: Executor, projectId: number, share: number): Promise<void> {
  await sql`update item set holdout = random_key < ${share}
    where project_id = ${projectId} and label_count = 0 and holdout <> (random_key < ${share})`.execute(db);
}

/** Reopens or closes items after the project changes how many labels each item needs. */
export async function applyOverlap(db: Executor, projectId: number, overlap: number): Promise<void> {
  await sql`update item set open = label_count < ${overlap}
    where project_id = ${projectId} and open <> (label_count < ${overlap})`.execute(db);
}

export async function countItems(db: Executor, projectId: number): Promise<{ items: number; labeled: number }> {
  const row = await db
    .selectFrom('item')
    .select([sql<number>`count(*)::int`.as('items'), sql<number>`count(label_id)::int`.as('labeled')])
    .where('project_id', '=', projectId)
    .executeTakeFirstOrThrow();
  return row;
}

export type ItemStatus = 'unlabeled' | 'labeled';

export interface ItemQuery {
  projectId: number;
  status?: ItemStatus;
  labelId?: number;
  /** Keyset cursor: only items with a larger id. */
  afterItemId?: number;
  limit: number;
}

export interface ItemWithAnnotation {
  itemId: number;
  externalId: string;
  text: string | null;
  features: Array<number | null> | null;
  image: string | null;
  label: string | null;
  createdAt: Date;
  annotation: { label: string; annotator: string; source: AnnotationSource; createdAt: Date } | null;
  /** The promoted model's guess, from its latest scoring run. */
  suggestion: { label: string; confidence: number | null; roundId: number | null } | null;
}

/**
 * One page of a project's items in id order with each item's newest annotation. Every filter
 * is served by an index on (project_id, …, item_id), so a page costs the same at any depth.
 */
export async function listItems(db: Executor, query: ItemQuery): Promise<ItemWithAnnotation[]> {
  const rows = await listItemsQuery(db, query).execute();
  return rows.map((r) => ({
    itemId: r.item_id,
    externalId: r.external_id,
    text: r.text,
    features: r.features,
    image: r.image,
    label: r.current_label,
    createdAt: r.created_at,
    annotation:
      r.annotation_label === null || r.annotator === null || r.source === null || r.annotated_at === null
        ? null
        : { label: r.annotation_label, annotator: r.annotator, source: r.source, createdAt: r.annotated_at },
    suggestion:
      r.suggestion_label === null
        ? null
        : { label: r.suggestion_label, confidence: r.suggestion_confidence, roundId: r.score_round_id },
  }));
}

/** The query behind `listItems`, exposed so tests can check its plan. */
export function listItemsQuery(db: Executor, query: ItemQuery) {
  let q = db
    .selectFrom('item as i')
    .leftJoin('label as il', 'il.label_id', 'i.label_id')
    .leftJoin('label as sl', 'sl.label_id', 'i.suggestion_label_id')
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom('annotation as a')
          .innerJoin('label as al', 'al.label_id', 'a.label_id')
          .select(['al.name as label', 'a.annotator', 'a.source', 'a.created_at'])
          .whereRef('a.item_id', '=', 'i.item_id')
          .orderBy('a.annotation_id', 'desc')
          .limit(1)
          .as('latest'),
      (join) => join.onTrue(),
    )
    .select([
      'i.item_id',
      'i.external_id',
      'i.text',
      'i.features',
      'i.image',
      'i.created_at',
      'il.name as current_label',
      'sl.name as suggestion_label',
      'i.suggestion_confidence',
      'i.score_round_id',
      'latest.label as annotation_label',
      'latest.annotator',
      'latest.source',
      'latest.created_at as annotated_at',
    ])
    .where('i.project_id', '=', query.projectId);
  if (query.status === 'unlabeled') q = q.where('i.label_id', 'is', null);
  if (query.status === 'labeled') q = q.where('i.label_id', 'is not', null);
  if (query.labelId !== undefined) q = q.where('i.label_id', '=', query.labelId);
  if (query.afterItemId !== undefined) q = q.where('i.item_id', '>', query.afterItemId);
  return q.orderBy('i.item_id').limit(query.limit);
}

export async function findItemRef(
  db: Executor,
  itemId: number,
): Promise<{ projectId: number; image: string | null } | undefined> {
  const row = await db
    .selectFrom('item')
    .select(['project_id', 'image'])
    .where('item_id', '=', itemId)
    .executeTakeFirst();
  return row && { projectId: row.project_id, image: row.image };
}
