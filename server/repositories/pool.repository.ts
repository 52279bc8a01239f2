/** What rounds read from the items (labels, the open pool, contents) and write back (scores). */
import { sql } from 'kysely';
import type { Executor } from '../db/schema.js';
import { packInt4, unpackInt4 } from './packed-ints.js';

/** How many items carry each label as their current label (label id → count). */
export async function countLabels(db: Executor, projectId: number): Promise<Map<number, number>> {
  const rows = await db
    .selectFrom('item')
    .select(['label_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('project_id', '=', projectId)
    .where('label_id', 'is not', null)
    .groupBy('label_id')
    .execute();
  return new Map(rows.map((r) => [r.label_id!, Number(r.n)]));
}

/** Items the queue can still hand out by priority (open, not holdout), in id order; packed. */
export async function openPoolIds(db: Executor, projectId: number): Promise<number[]> {
  const { rows } = await sql<{ ids: Uint8Array | null }>`
    select ${packInt4(sql`item_id`, sql`item_id`)} as ids
    from item where project_id = ${projectId} and open and not holdout`.execute(db);
  return unpackInt4(rows[0].ids);
}

export interface ItemContent {
  text: string | null;
  features: Array<number | null> | null;
  image: string | null;
}

/** Contents of the given items, in the order given. */
export async function itemContents(db: Executor, itemIds: readonly number[]): Promise<ItemContent[]> {
  if (itemIds.length === 0) return [];
  const { rows } = await sql<ItemContent>`
    select i.text, i.features, i.image
    from unnest(${itemIds}::int[]) with ordinality as wanted(item_id, position)
    join item i on i.item_id = wanted.item_id
    order by wanted.position`.execute(db);
  if (rows.length !== itemIds.length) throw new Error('some items of the round no longer exist');
  return rows;
}

export interface ScoreChunk {
  itemIds: Int32Array;
  /** The strategy's score per item; NaN for none. */
  scores: Float32Array;
  /**
   * Queue priorities, already offset by the scoring run (see the rounds migration); null leaves
   * the rows' priorities as they are. Priority is indexed, so writing it costs an index entry per
   * index of the item table; the other columns are not, and PostgreSQL updates them in place.
   */
  priorities: Float64Array | null;
  /** Per item, an index into `strategyNames`. */
  strategies: Uint8Array;
  strategyNames: readonly string[];
  suggestionLabelIds: Int32Array;
  confidences: Float32Array;
}

/**
 * A PostgreSQL array literal of numbers ('NaN' included), written by one native `join`: node-postgres
 * would format a chunk's columns element by element, several milliseconds per chunk on the event loop.
 */
const numbers = (values: Int32Array | Float32Array | Float64Array | Uint8Array) => `{${values.join(',')}}`;

/**
 * Writes one chunk of a scoring run. It never waits for an annotator: items under a live lease
 * (about to be labeled) and rows another transaction holds are left as they are, and the rest are
 * locked in item-id order, the order label writes lock them in, so the two never deadlock.
 */
export async function writeScores(db: Executor, roundId: number, chunk: ScoreChunk): Promise<void> {
  const itemIds = numbers(chunk.itemIds);
  await sql`
    with locked as (
      select item_id from item
      where item_id = any(${itemIds}::int[]) and (lease_expires_at is null or lease_expires_at < now())
      order by item_id
      for update skip locked
    )
    update item i set
      score = nullif(s.score, 'NaN'), priority = ${chunk.priorities === null ? sql`i.priority` : sql`s.priority`},
      score_strategy = (${chunk.strategyNames}::text[])[s.strategy + 1],
      score_round_id = ${roundId}, suggestion_label_id = s.label_id, suggestion_confidence = s.confidence
    from unnest(${itemIds}::int[], ${numbers(chunk.scores)}::real[], ${chunk.priorities ? numbers(chunk.priorities) : '{}'}::float8[],
                ${numbers(chunk.strategies)}::int[], ${numbers(chunk.suggestionLabelIds)}::int[], ${numbers(chunk.confidences)}::real[])
      as s(item_id, score, priority, strategy, label_id, confidence)
    where i.item_id = s.item_id and i.item_id in (select item_id from locked)`.execute(db);
}
