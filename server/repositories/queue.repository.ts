/**
 * Leases on items. A lease is two columns on the item row, so a competing `FOR UPDATE SKIP
 * LOCKED` pick either skips a row being leased or re-checks it after the lease is written.
 */
import { sql } from 'kysely';
import type { Executor } from '../db/schema.js';

export interface LeasedItem {
  itemId: number;
  externalId: string;
  text: string | null;
  features: Array<number | null> | null;
  image: string | null;
  holdout: boolean;
  score: number | null;
  priority: number | null;
  scoreStrategy: string | null;
  scoreRoundId: number | null;
  suggestionLabel: string | null;
  suggestionConfidence: number | null;
  leaseExpiresAt: Date;
}

export interface QueueRequest {
  projectId: number;
  annotator: string;
  n: number;
}

/**
 * Up to `n` items for each annotator (`queue_next_items`, see its migrations): the leases they
 * already hold, then new ones. New picks lock rows with `FOR UPDATE SKIP LOCKED`, so concurrent
 * statements never wait on each other and never take the same row. One statement answers all the
 * requests (one round trip, one commit, and each of the function's queries once for all), dealing
 * the items out in the order of `requests`: a later request gets what an earlier one left, and an
 * annotator's second request gets back what their first leased. Answers in the order of
 * `requests`; undefined when the only request names a project that does not exist. Such a project
 * fails a statement of several requests as a whole, so that they can be sent again one at a time.
 */
export async function queueNext(db: Executor, requests: readonly QueueRequest[]): Promise<Array<LeasedItem[] | undefined>> {
  try {
    const { rows } = await sql<LeasedRow & { request: number }>`
      select * from queue_next_items(${requests.map((r) => r.projectId)}::int[], ${requests.map((r) => r.annotator)}::text[],
                                     ${requests.map((r) => r.n)}::int[])`.execute(db);
    const answers = requests.map((): LeasedItem[] => []);
    for (const row of rows) answers[row.request - 1].push(toLeasedItem(row));
    return answers;
  } catch (err) {
    if (requests.length === 1 && (err as { code?: string }).code === 'P0002') return [undefined];
    throw err;
  }
}

export async function renewLeases(
  db: Executor,
  projectId: number,
  annotator: string,
  seconds: number,
): Promise<{ renewed: number; leaseExpiresAt: Date | null }> {
  const { rows } = await sql<{ lease_expires_at: Date }>`
    with renewed as (
      update lease l set expires_at = now() + make_interval(secs => ${seconds})
      where l.project_id = ${projectId} and l.annotator = ${annotator} and l.expires_at > now()
      returning l.item_id, l.expires_at
    )
    update item i set lease_expires_at = r.expires_at
    from renewed r
    where i.item_id = r.item_id and i.lease_annotator = ${annotator} and i.open
    returning i.lease_expires_at`.execute(db);
  return { renewed: rows.length, leaseExpiresAt: rows[0]?.lease_expires_at ?? null };
}

/** Ends the annotator's lease on the item; answers whether there was one. */
export async function releaseLease(db: Executor, itemId: number, annotator: string): Promise<boolean> {
  await db.deleteFrom('lease').where('item_id', '=', itemId).where('annotator', '=', annotator).execute();
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

interface LeasedRow {
  item_id: number;
  external_id: string;
  text: string | null;
  features: Array<number | null> | null;
  image: string | null;
  holdout: boolean;
  score: number | null;
  priority: number | null;
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
    priority: r.priority,
    scoreStrategy: r.score_strategy,
    scoreRoundId: r.score_round_id,
    suggestionLabel: r.suggestion_label,
    suggestionConfidence: r.suggestion_confidence,
    leaseExpiresAt: r.lease_expires_at,
  };
}
