import type { Executor } from '../db/schema.js';

export interface LabelRecord {
  id: number;
  projectId: number;
  name: string;
  hotkey: string | null;
  position: number;
}

export async function insertLabels(
  db: Executor,
  projectId: number,
  labels: ReadonlyArray<{ name: string; hotkey: string | null }>,
): Promise<LabelRecord[]> {
  const rows = await db
    .insertInto('label')
    .values(labels.map((label, position) => ({ project_id: projectId, name: label.name, hotkey: label.hotkey, position })))
    .returningAll()
    .execute();
  return rows.map((row) => ({
    id: row.label_id,
    projectId: row.project_id,
    name: row.name,
    hotkey: row.hotkey,
    position: row.position,
  }));
}

/** Labels of the given projects, each project's in its display order. */
export async function listLabels(db: Executor, projectIds: readonly number[]): Promise<LabelRecord[]> {
  if (projectIds.length === 0) return [];
  const rows = await db
    .selectFrom('label')
    .selectAll()
    .where('project_id', 'in', projectIds)
    .orderBy('project_id')
    .orderBy('position')
    .execute();
  return rows.map((row) => ({
    id: row.label_id,
    projectId: row.project_id,
    name: row.name,
    hotkey: row.hotkey,
    position: row.position,
  }));
}
