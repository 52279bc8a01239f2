import type { Executor, ProjectRole } from '../db/schema.js';

export interface MemberRecord {
  userId: number;
  email: string;
  name: string;
  role: ProjectRole;
  active: boolean;
  createdAt: Date;
}

export async function listMembers(db: Executor, projectId: number): Promise<MemberRecord[]> {
  const rows = await db
    .selectFrom('project_member as m')
    .innerJoin('app_user as u', 'u.user_id', 'm.user_id')
    .select(['m.user_id', 'u.email', 'u.name', 'm.role', 'u.active', 'm.created_at'])
    .where('m.project_id', '=', projectId)
    .orderBy('u.email')
    .execute();
  return rows.map((r) => ({ userId: r.user_id, email: r.email, name: r.name, role: r.role, active: r.active, createdAt: r.created_at }));
}

/** The user's role in the project, or undefined when they are not a member. */
export async function findMemberRole(db: Executor, projectId: number, userId: number): Promise<ProjectRole | undefined> {
  const row = await db
    .selectFrom('project_member')
    .select('role')
    .where('project_id', '=', projectId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row?.role;
}

/**
 * The project an item belongs to and the user's role in it, in one round trip; undefined when the
 * item does not exist. `role` is undefined when the user is not a member.
 */
export async function findItemProjectRole(
  db: Executor,
  itemId: number,
  userId: number,
): Promise<{ projectId: number; role: ProjectRole | undefined } | undefined> {
  const row = await db
    .selectFrom('item as i')
    .leftJoin('project_member as m', (join) => join.onRef('m.project_id', '=', 'i.project_id').on('m.user_id', '=', userId))
    .select(['i.project_id', 'm.role'])
    .where('i.item_id', '=', itemId)
    .executeTakeFirst();
  return row && { projectId: row.project_id, role: row.role ?? undefined };
}

export async function listMemberships(db: Executor, userId: number): Promise<Array<{ projectId: number; role: ProjectRole }>> {
  const rows = await db.selectFrom('project_member').select(['project_id', 'role']).where('user_id', '=', userId).execute();
  return rows.map((r) => ({ projectId: r.project_id, role: r.role }));
}

export async function upsertMember(db: Executor, projectId: number, userId: number, role: ProjectRole): Promise<void> {
  await db
    .insertInto('project_member')
    .values({ project_id: projectId, user_id: userId, role })
    .onConflict((oc) => oc.columns(['project_id', 'user_id']).doUpdateSet({ role }).where('project_member.role', '<>', role))
    .execute();
}

/** Answers whether a membership was there to remove. */
export async function deleteMember(db: Executor, projectId: number, userId: number): Promise<boolean> {
  const result = await db.deleteFrom('project_member').where('project_id', '=', projectId).where('user_id', '=', userId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
