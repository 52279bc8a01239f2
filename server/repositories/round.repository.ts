/** Rounds: what each one trained on, its artifact, metrics and timings. */
import { type Selectable, sql } from 'kysely';
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

export async function saveSnapshot(db: Executor, roundId: number, snapshot: RoundSnapshot): Promise<void> {
  await db
    .updateTable('round')
    .set({
      label_watermark: snapshot.labelWatermark,
      train_item_ids: snapshot.trainItemIds,
      train_label_ids: snapshot.trainLabelIds,
      holdout_item_ids: snapshot.holdoutItemIds,
      holdout_label_ids: snapshot.holdoutLabelIds,
    })
    .where('round_id', '=', roundId)
    .execute();
}

export async function findSnapshot(db: Executor, roundId: number): Promise<RoundSnapshot | undefined> {
  const row = await db
    .selectFrom('round')
    .select(['label_watermark', 'train_item_ids', 'train_label_ids', 'holdout_item_ids', 'holdout_label_ids'])
    .where('round_id', '=', roundId)
    .executeTakeFirst();
  if (!row || row.train_item_ids === null) return undefined;
  return {
    labelWatermark: row.label_watermark ?? 0,
    trainItemIds: row.train_item_ids,
    trainLabelIds: row.train_label_ids ?? [],
    holdoutItemIds: row.holdout_item_ids ?? [],
    holdoutLabelIds: row.holdout_label_ids ?? [],
  };
}

export interface RoundOutcome {
  metrics: unknown;
  comparison: unknown;
  timings: Record<string, number>;
  artifact: { json: string; weights: Uint8Array };
}

export async function saveOutcome(db: Executor, roundId: number, outcome: RoundOutcome): Promise<void> {
  await db
    .updateTable('round')
    .set({
      metrics: JSON.stringify(outcome.metrics),
      comparison: JSON.stringify(outcome.comparison),
      timings: JSON.stringify(outcome.timings),
      artifact_json: outcome.artifact.json,
      artifact_weights: outcome.artifact.weights,
      finished_at: sql`now()`,
    })
    .where('round_id', '=', roundId)
    .execute();
}

export async function saveTimings(db: Executor, roundId: number, timings: Record<string, number>): Promise<void> {
  await db.updateTable('round').set({ timings: JSON.stringify(timings) }).where('round_id', '=', roundId).execute();
}

export async function markPromoted(db: Executor, roundId: number): Promise<void> {
  await db.updateTable('round').set({ promoted_at: sql`now()` }).where('round_id', '=', roundId).execute();
}

export async function findArtifact(db: Executor, roundId: number): Promise<{ json: string; weights: Uint8Array } | undefined> {
  const row = await db
    .selectFrom('round')
    .select(['artifact_json', 'artifact_weights'])
    .where('round_id', '=', roundId)
    .executeTakeFirst();
  if (!row?.artifact_json || !row.artifact_weights) return undefined;
  return { json: row.artifact_json, weights: new Uint8Array(row.artifact_weights) };
}
