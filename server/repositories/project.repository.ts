import { sql } from 'kysely';
import type { Executor, ItemKind, ProjectRow, PromotionPolicy } from '../db/schema.js';

export interface ProjectRecord {
  id: number;
  name: string;
  kind: ItemKind;
  guidelines: string;
  vectorDim: number | null;
  holdoutShare: number;
  overlap: number;
  leaseSeconds: number;
  /** Whether annotators may see labels others gave. */
  annotatorsSeeAllLabels: boolean;
  createdAt: Date;
  /** New labels that start a retraining round by themselves; 0 turns the automatic loop off. */
  retrainEvery: number;
  strategy: string;
  model: string;
  promotion: PromotionPolicy;
  promotedRoundId: number | null;
}

function toProject(row: ProjectRow): ProjectRecord {
  return {
    id: row.project_id,
    name: row.name,
    kind: row.kind,
    guidelines: row.guidelines,
    vectorDim: row.vector_dim,
    holdoutShare: row.holdout_share,
    overlap: row.overlap,
    leaseSeconds: row.lease_seconds,
    annotatorsSeeAllLabels: row.annotators_see_all_labels,
    createdAt: row.created_at,
    retrainEvery: row.retrain_every,
    strategy: row.strategy,
    model: row.model,
    promotion: row.promotion,
    promotedRoundId: row.promoted_round_id,
  };
}

export async function insertProject(
  db: Executor,
  values: { name: string; kind: ItemKind; guidelines: string },
): Promise<ProjectRecord> {
  const row = await db.insertInto('project').values(values).returningAll().executeTakeFirstOrThrow();
  return toProject(row);
}

export async function findProject(db: Executor, projectId: number): Promise<ProjectRecord | undefined> {
  const row = await db.selectFrom('project').selectAll().where('project_id', '=', projectId).executeTakeFirst();
  return row && toProject(row);
}

/** Every project, or only those `memberId` is a member of. */
export async function listProjects(db: Executor, memberId?: number): Promise<ProjectRecord[]> {
  let q = db.selectFrom('project').selectAll();
  if (memberId !== undefined) {
    q = q.where('project_id', 'in', (eb) => eb.selectFrom('project_member').select('project_id').where('user_id', '=', memberId));
  }
  const rows = await q.orderBy('project_id', 'desc').execute();
  return rows.map(toProject);
}

export async function countProjects(db: Executor): Promise<number> {
  const { n } = await db
    .selectFrom('project')
    .select(sql<number>`count(*)::int`.as('n'))
    .executeTakeFirstOrThrow();
  return n;
}

export interface ProjectPatch {
  name?: string;
  guidelines?: string;
  holdoutShare?: number;
  overlap?: number;
  leaseSeconds?: number;
  retrainEvery?: number;
  strategy?: string;
  model?: string;
  promotion?: PromotionPolicy;
  annotatorsSeeAllLabels?: boolean;
}

export async function updateProject(db: Executor, projectId: number, patch: ProjectPatch): Promise<void> {
  const values = {
    ...(patch.name !== undefined && { name: patch.name }),
    ...(patch.guidelines !== undefined && { guidelines: patch.guidelines }),
    ...(patch.holdoutShare !== undefined && { holdout_share: patch.holdoutShare }),
    ...(patch.overlap !== undefined && { overlap: patch.overlap }),
    ...(patch.leaseSeconds !== undefined && { lease_seconds: patch.leaseSeconds }),
    ...(patch.retrainEvery !== undefined && { retrain_every: patch.retrainEvery }),
    ...(patch.strategy !== undefined && { strategy: patch.strategy }),
    ...(patch.model !== undefined && { model: patch.model }),
    ...(patch.promotion !== undefined && { promotion: patch.promotion }),
    ...(patch.annotatorsSeeAllLabels !== undefined && { annotators_see_all_labels: patch.annotatorsSeeAllLabels }),
  };
  if (Object.keys(values).length === 0) return;
  await db.updateTable('project').set(values).where('project_id', '=', projectId).execute();
}

/** Fixes the feature-row length of a vector project the first time items arrive. */
export async function setVectorDimIfUnset(db: Executor, projectId: number, dim: number): Promise<number> {
  await db
    .updateTable('project')
    .set({ vector_dim: dim })
    .where('project_id', '=', projectId)
    .where('vector_dim', 'is', null)
    .execute();
  const row = await db
    .selectFrom('project')
    .select('vector_dim')
    .where('project_id', '=', projectId)
    .executeTakeFirstOrThrow();
  return row.vector_dim ?? dim;
}

/** Points the project's registry at a round's model (or at none). */
export async function setPromotedRound(db: Executor, projectId: number, roundId: number | null): Promise<void> {
  await db.updateTable('project').set({ promoted_round_id: roundId }).where('project_id', '=', projectId).execute();
}

/**
 * Locks the project row until the transaction ends (serialises per-project changes). A no-key
 * lock: labels being stored (whose foreign keys share-lock the project's key) never wait for it.
 */
export async function lockProject(db: Executor, projectId: number): Promise<void> {
  await db.selectFrom('project').select('project_id').where('project_id', '=', projectId).forNoKeyUpdate().execute();
}
