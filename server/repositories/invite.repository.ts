import type { Executor, ProjectRole } from '../db/schema.js';

export interface InviteRecord {
  id: number;
  projectId: number | null;
  role: ProjectRole | null;
  isAdmin: boolean;
  email: string | null;
  expiresAt: Date;
}

export async function insertInvite(
  db: Executor,
  values: { tokenHash: string; projectId: number | null; role: ProjectRole | null; isAdmin: boolean; email: string | null; createdBy: number | null; expiresAt: Date },
): Promise<InviteRecord> {
  const row = await db
    .insertInto('invite')
    .values({
      token_hash: values.tokenHash,
      project_id: values.projectId,
      role: values.role,
      is_admin: values.isAdmin,
      email: values.email,
      created_by: values.createdBy,
      expires_at: values.expiresAt,
    })
    .returning(['invite_id', 'project_id', 'role', 'is_admin', 'email', 'expires_at'])
    .executeTakeFirstOrThrow();
  return toInvite(row);
}

function toInvite(r: { invite_id: number; project_id: number | null; role: ProjectRole | null; is_admin: boolean; email: string | null; expires_at: Date }): InviteRecord {
  return { id: r.invite_id, projectId: r.project_id, role: r.role, isAdmin: r.is_admin, email: r.email, expiresAt: r.expires_at };
}

/** The unused, unexpired invite with this token hash. */
export async function findOpenInvite(db: Executor, tokenHash: string): Promise<InviteRecord | undefined> {
  const row = await db
    .selectFrom('invite')
    .select(['invite_id', 'project_id', 'role', 'is_admin', 'email', 'expires_at'])
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', new Date())
    .executeTakeFirst();
  return row && toInvite(row);
}

/** Uses the invite up in one statement, so two accepts racing cannot both succeed. */
export async function claimInvite(db: Executor, tokenHash: string): Promise<InviteRecord | undefined> {
  const row = await db
    .updateTable('invite')
    .set({ used_at: new Date() })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', new Date())
    .returning(['invite_id', 'project_id', 'role', 'is_admin', 'email', 'expires_at'])
    .executeTakeFirst();
  return row && toInvite(row);
}
