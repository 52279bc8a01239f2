/** Rounds: what each one trained on, its artifact, metrics and timings. */
import { type Selectable, sql } from 'kysely';
import { packInt4Array, unpackInt4 } from './packed-ints.js';
import type { Executor, RoundTable } from '../db/schema.js';

export interface RoundRecord {
  id: number;
  projectId: number;
  number: number;
  trigger: 'auto' | 'manual';
  strategy: string;
  model: string;
  params: Record<string, unknown>;
  seed: number;
  trainLabels: number;
  holdoutLabels: number;
  metrics: unknown;
  comparison: unknown;
  timings: Record<string, number> | null;
  promotedAt: Date | null;
  createdAt: Date;
  finishedAt: Date | null;
}

/** Columns other than the artifact, which only loading a model needs. */
const summaryColumns = [
  'round_id',
  'project_id',
  'number',
  'trigger',
  'strategy',
  'model',
  'params',
  'seed',
  'metrics',
  'comparison',
  'timings',
  'promoted_at',
  'created_at',
  'finished_at',
] as const;

type RoundSummaryRow = Pick<Selectable<RoundTable>, (typeof summaryColumns)[number]> & { train_labels: number; holdout_labels: number };

function toRound(row: RoundSummaryRow): RoundRecord {
  return {
    id: row.round_id,
    projectId: row.project_id,
    number: row.number,
    trigger: row.trigger,
    strategy: row.strategy,
    model: row.model,
    params: row.params,
    seed: row.seed,
    trainLabels: row.train_labels,
    holdoutLabels: row.holdout_labels,
    metrics: row.metrics,
    comparison: row.comparison,
    timings: row.timings,
    promotedAt: row.promoted_at,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}

function selectRounds(db: Executor) {
  return db
    .selectFrom('round')
    .select(summaryColumns)
    .select([
      sql<number>`coalesce(cardinality(train_item_ids), 0)`.as('train_labels'),
      sql<number>`coalesce(cardinality(holdout_item_ids), 0)`.as('holdout_labels'),
    ]);
}

export interface NewRound {
  projectId: number;
  trigger: 'auto' | 'manual';
  strategy: string;
  model: string;
  params: Record<string, unknown>;
}

/** Inserts the project's next round; numbers count up per project. */
export async function insertRound(db: Executor, round: NewRound): Promise<RoundRecord> {
  const { rows } = await sql<{ round_id: number }>`
    insert into round (project_id, number, trigger, strategy, model, params, seed)
    select ${round.projectId}, coalesce(max(number), 0) + 1, ${round.trigger}, ${round.strategy}, ${round.model},
      ${JSON.stringify(round.params)}::jsonb, coalesce(max(number), 0) + 1
    from round where project_id = ${round.projectId}
    returning round_id`.execute(db);
  return (await findRound(db, rows[0].round_id))!;
}

export async function findRound(db: Executor, roundId: number): Promise<RoundRecord | undefined> {
  const row = await selectRounds(db).where('round_id', '=', roundId).executeTakeFirst();
  return row && toRound(row);
}

export async function listRounds(db: Executor, projectId: number): Promise<RoundRecord[]> {
  const rows = await selectRounds(db).where('project_id', '=', projectId).orderBy('number').execute();
  return rows.map(toRound);
}

/** The labels a round starts from, frozen so the round can be reproduced. */
export interface RoundSnapshot {
  labelWatermark: number;
  trainItemIds: number[];
  trainLabelIds: number[];
  holdoutItemIds: number[];
  holdoutLabelIds: number[];
}

/**
 * Freezes the round's labels in one statement, so from one consistent view: the current label of
 * every labeled item, split into training and holdout, and the newest annotation id. The lists
 * never pass through this process. A round frozen before (a retried one) keeps its labels.
 */
export async function freezeSnapshot(db: Executor, roundId: number, projectId: number): Promise<void> {
  await sql`
    update round r set
      label_watermark = coalesce((select max(a.annotation_id) from annotation a where a.project_id = ${projectId}), 0),
      train_item_ids = coalesce(t.train_items, '{}'), train_label_ids = coalesce(t.train_labels, '{}'),
      holdout_item_ids = coalesce(t.holdout_items, '{}'), holdout_label_ids = coalesce(t.holdout_labels, '{}')
    from (
      select array_agg(i.item_id order by i.item_id) filter (where not i.holdout) as train_items,
             array_agg(i.label_id order by i.item_id) filter (where not i.holdout) as train_labels,
             array_agg(i.item_id order by i.item_id) filter (where i.holdout) as holdout_items,
             array_agg(i.label_id order by i.item_id) filter (where i.holdout) as holdout_labels
      from item i where i.project_id = ${projectId} and i.label_id is not null
    ) t
    where r.round_id = ${roundId} and r.train_item_ids is null`.execute(db);
}

/** The round's frozen labels (packed on the way, see packed-ints); undefined before they are frozen. */
export async function findSnapshot(db: Executor, roundId: number): Promise<RoundSnapshot | undefined> {
  const { rows } = await sql<{
    frozen: boolean;
    label_watermark: number | null;
    train_item_ids: Uint8Array | null;
    train_label_ids: Uint8Array | null;
    holdout_item_ids: Uint8Array | null;
    holdout_label_ids: Uint8Array | null;
  }>`
    select train_item_ids is not null as frozen, label_watermark,
           ${packInt4Array('train_item_ids')} as train_item_ids, ${packInt4Array('train_label_ids')} as train_label_ids,
           ${packInt4Array('holdout_item_ids')} as holdout_item_ids, ${packInt4Array('holdout_label_ids')} as holdout_label_ids
    from round where round_id = ${roundId}`.execute(db);
  const row = rows[0];
  if (!row?.frozen) return undefined;
  return {
    labelWatermark: row.label_watermark ?? 0,
    trainItemIds: unpackInt4(row.train_item_ids),
    trainLabelIds: unpackInt4(row.train_label_ids),
    holdoutItemIds: unpackInt4(row.holdout_item_ids),
    holdoutLabelIds: unpackInt4(row.holdout_label_ids),
  };
}

export interface RoundOutcome {
  metrics: unknown;
  comparison: unknown;
  timings: Record<string, number>;
  /** The model's description; its weights are saved before, in parts (saveWeightsPart). */
  artifactJson: string;
}

/** Finishes a round: from here on it has a model (whose weight parts must all be saved already). */
export async function saveOutcome(db: Executor, roundId: number, outcome: RoundOutcome): Promise<void> {
  await db
    .updateTable('round')
    .set({
      metrics: JSON.stringify(outcome.metrics),
      comparison: JSON.stringify(outcome.comparison),
      timings: JSON.stringify(outcome.timings),
      artifact_json: outcome.artifactJson,
      finished_at: sql`now()`,
    })
    .where('round_id', '=', roundId)
    .execute();
}

/** Forgets the weight parts an earlier attempt at the round saved. */
export async function deleteWeights(db: Executor, roundId: number): Promise<void> {
  await db.deleteFrom('round_weights').where('round_id', '=', roundId).execute();
}

/** Part `part` (from 0) of a round's weights. */
export async function saveWeightsPart(db: Executor, roundId: number, part: number, bytes: Uint8Array): Promise<void> {
  await db.insertInto('round_weights').values({ round_id: roundId, part, bytes }).execute();
}

export async function saveTimings(db: Executor, roundId: number, timings: Record<string, number>): Promise<void> {
  await db.updateTable('round').set({ timings: JSON.stringify(timings) }).where('round_id', '=', roundId).execute();
}

export async function markPromoted(db: Executor, roundId: number): Promise<void> {
  await db.updateTable('round').set({ promoted_at: sql`now()` }).where('round_id', '=', roundId).execute();
}

/** Whether the round finished training (and so has a model to load or promote). */
export async function hasArtifact(db: Executor, roundId: number): Promise<boolean> {
  const row = await db.selectFrom('round').select('round_id').where('round_id', '=', roundId).where('artifact_json', 'is not', null).executeTakeFirst();
  return row !== undefined;
}

export async function findArtifact(db: Executor, roundId: number): Promise<{ json: string; weights: Uint8Array } | undefined> {
  const row = await db
    .selectFrom('round')
    .select(['artifact_json', 'artifact_weights'])
    .where('round_id', '=', roundId)
    .executeTakeFirst();
  if (!row?.artifact_json) return undefined;
  if (row.artifact_weights) return { json: row.artifact_json, weights: new Uint8Array(row.artifact_weights) };
  const parts = await db.selectFrom('round_weights').select('bytes').where('round_id', '=', roundId).orderBy('part').execute();
  // A buffer of its own (Buffer.concat may hand out a slice of a shared pool).
  return { json: row.artifact_json, weights: new Uint8Array(Buffer.concat(parts.map((p) => p.bytes))) };
}
