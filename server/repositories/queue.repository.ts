/**
 * Leases on items. A lease is two columns on the item row, so a competing `FOR UPDATE SKIP
 * LOCKED` pick either skips a row being leased or re-checks it after the lease is written.
 */
import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

export interface LeasedItem {
  itemId: number;
  externalId: string;
  text: string | null;
  features: Array<number | null> | null;
  image: string | null;
  holdout: boolean;
  score: number | null;
  scoreStrategy: string | null;
  scoreRoundId: number | null;
  suggestionLabel: string | null;
  suggestionConfidence: number | null;
  leaseExpiresAt: Date;
}

export interface LeaseRequest {
  projectId: number;
  annotator: string;
  /** How many items to take from the priority order and from the random holdout sample. */
  priority: number;
  holdout: number;
  /** With overlap > 1 an item stays open after a label; never give it back to the same annotator. */
  excludeOwnLabels: boolean;
  seconds: number;
}

/**
 * Leases free items in one statement: each pick locks rows with `FOR UPDATE SKIP LOCKED`, so
 * concurrent requests never wait on each other and never take the same row, and a row whose
 * lease was just written is re-checked against the lease condition before it can be taken.
 */
export async function leaseNextItems(db: Executor, r: LeaseRequest): Promise<LeasedItem[]> {
  if (r.priority + r.holdout <= 0) return [];
  const free = sql`i.project_id = ${r.projectId} and i.open
      and (i.lease_expires_at is null or i.lease_expires_at < now())
      and not exists (select 1 from skip s where s.item_id = i.item_id and s.annotator = ${r.annotator})
      ${r.excludeOwnLabels ? sql`and not exists (select 1 from annotation a where a.item_id = i.item_id and a.annotator = ${r.annotator})` : sql``}`;
  const { rows } = await sql<LeasedRow>`
    with by_priority as (
      select i.item_id from item i where ${free} and not i.holdout
      order by i.score desc nulls last, i.random_key limit ${r.priority}
      for update of i skip locked
    ), by_chance as (
      select i.item_id from item i where ${free} and i.holdout
      order by i.random_key limit ${r.holdout}
      for update of i skip locked
    )
    update item i set lease_annotator = ${r.annotator}, lease_expires_at = now() + make_interval(secs => ${r.seconds})
    where i.item_id in (select item_id from by_priority union all select item_id from by_chance)
    returning ${leasedColumns(sql`(select l.name from label l where l.label_id = i.suggestion_label_id)`)}`.execute(db);
  return rows.map(toLeasedItem);
}

/** Unexpired leases the annotator already holds, oldest first (a refresh gets its items back). */
export async function heldLeases(db: Executor, projectId: number, annotator: string, limit: number): Promise<LeasedItem[]> {
  const { rows } = await sql<LeasedRow>`
    select ${leasedColumns(sql`sl.name`)}
    from item i left join label sl on sl.label_id = i.suggestion_label_id
    where i.project_id = ${projectId} and i.lease_annotator = ${annotator} and i.lease_expires_at > now() and i.open
    order by i.lease_expires_at, i.item_id
    limit ${limit}`.execute(db);
  return rows.map(toLeasedItem);
}

export async function renewLeases(
  db: Executor,
  projectId: number,
  annotator: string,
  seconds: number,
): Promise<{ renewed: number; leaseExpiresAt: Date | null }> {
  const { rows } = await sql<{ lease_expires_at: Date }>`
    update item set lease_expires_at = now() + make_interval(secs => ${seconds})
    where project_id = ${projectId} and lease_annotator = ${annotator} and lease_expires_at > now() and open
    returning lease_expires_at`.execute(db);
  return { renewed: rows.length, leaseExpiresAt: rows[0]?.lease_expires_at ?? null };
}

/** Ends the annotator's lease on the item; answers whether there was one. */
export async function releaseLease(db: Executor, itemId: number, annotator: string): Promise<boolean> {
  const result = await db
    .updateTable('item')
    .set({ lease_annotator: null, lease_expires_at: null })
    .where('item_id', '=', itemId)
    .where('lease_annotator', '=', annotator)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function insertSkip(db: Executor, itemId: number, annotator: string): Promise<void> {
  await db
    .insertInto('skip')
    .values({ item_id: itemId, annotator })
    .onConflict((oc) => oc.columns(['item_id', 'annotator']).doNothing())
    .execute();
}

export async function countOpenItems(db: Executor, projectId: number, annotator: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from item i
    where i.project_id = ${projectId} and i.open
      and not exists (select 1 from skip s where s.item_id = i.item_id and s.annotator = ${annotator})`.execute(db);
  return rows[0].n;
}

const leasedColumns = (suggestionLabel: RawBuilder<unknown>) =>
  sql`i.item_id, i.external_id, i.text, i.features, i.image, i.holdout, i.score, i.score_strategy,
  i.score_round_id, ${suggestionLabel} as suggestion_label, i.suggestion_confidence, i.lease_expires_at`;

interface LeasedRow {
  item_id: number;
  external_id: string;
  text: string | null;
  features: Array<number | null> | null;
  image: string | null;
  holdout: boolean;
  score: number | null;
  score_strategy: string | null;
  score_round_id: number | null;
  suggestion_label: string | null;
  suggestion_confidence: number | null;
  lease_expires_at: Date;
}

function toLeasedItem(r: LeasedRow): LeasedItem {
  return {
    itemId: r.item_id,
    externalId: r.external_id,
    text: r.text,
    features: r.features,
    image: r.image,
    holdout: r.holdout,
    score: r.score,
    scoreStrategy: r.score_strategy,
    scoreRoundId: r.score_round_id,
    suggestionLabel: r.suggestion_label,
    suggestionConfidence: r.suggestion_confidence,
    leaseExpiresAt: r.lease_expires_at,
  };
}
