/** Aggregates for the project dashboard: labeling pace, annotators and the queue's make-up. */
import { sql } from 'kysely';
import type { Executor } from '../db/schema.js';

export async function labelsPerHour(db: Executor, projectId: number, hours: number): Promise<Array<{ hour: Date; labels: number }>> {
  const { rows } = await sql<{ hour: Date; labels: number }>`
    select date_trunc('hour', created_at) as hour, count(*)::int as labels
    from annotation
    where project_id = ${projectId} and source = 'human' and created_at > now() - make_interval(hours => ${hours})
    group by 1 order by 1`.execute(db);
  return rows;
}

export interface AnnotatorStats {
  annotator: string;
  labels: number;
  medianMs: number | null;
  lastAt: Date;
}

export async function annotatorStats(db: Executor, projectId: number): Promise<AnnotatorStats[]> {
  const { rows } = await sql<{ annotator: string; labels: number; median_ms: number | null; last_at: Date }>`
    select annotator, count(*)::int as labels,
      percentile_cont(0.5) within group (order by duration_ms) as median_ms, max(created_at) as last_at
    from annotation
    where project_id = ${projectId} and source = 'human'
    group by annotator order by labels desc`.execute(db);
  return rows.map((r) => ({ annotator: r.annotator, labels: r.labels, medianMs: r.median_ms, lastAt: r.last_at }));
}

export interface QueueComposition {
  items: number;
  open: number;
  openHoldout: number;
  leased: number;
  labeledTraining: number;
  labeledHoldout: number;
  /** Open non-holdout items by the rule that placed them (null: not scored by any model yet). */
  byStrategy: Array<{ strategy: string | null; roundId: number | null; items: number }>;
}

export async function queueComposition(db: Executor, projectId: number): Promise<QueueComposition> {
  const { rows } = await sql<Omit<QueueComposition, 'byStrategy'>>`
    select count(*)::int as items,
      (count(*) filter (where open and not holdout))::int as open,
      (count(*) filter (where open and holdout))::int as "openHoldout",
      (count(*) filter (where open and lease_expires_at > now()))::int as leased,
      (count(*) filter (where label_id is not null and not holdout))::int as "labeledTraining",
      (count(*) filter (where label_id is not null and holdout))::int as "labeledHoldout"
    from item where project_id = ${projectId}`.execute(db);
  const { rows: strategies } = await sql<{ strategy: string | null; round_id: number | null; items: number }>`
    select score_strategy as strategy, score_round_id as round_id, count(*)::int as items
    from item where project_id = ${projectId} and open and not holdout
    group by 1, 2 order by items desc`.execute(db);
  return { ...rows[0], byStrategy: strategies.map((s) => ({ strategy: s.strategy, roundId: s.round_id, items: s.items })) };
}
