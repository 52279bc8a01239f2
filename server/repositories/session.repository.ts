import type { Executor } from '../db/schema.js';
import type { UserRecord } from './user.repository.js';

export async function insertSession(db: Executor, sessionHash: string, userId: number, expiresAt: Date): Promise<void> {
  await db.insertInto('session').values({ session_hash: sessionHash, user_id: userId, expires_at: expiresAt }).execute();
}

/** The active user a live session belongs to. */
export async function findSessionUser(db: Executor, sessionHash: string): Promise<UserRecord | undefined> {
  const row = await db
    .selectFrom('session as s')
    .innerJoin('app_user as u', 'u.user_id', 's.user_id')
    .select(['u.user_id', 'u.email', 'u.name', 'u.is_admin', 'u.active', 'u.created_at'])
    .where('s.session_hash', '=', sessionHash)
    .where('s.expires_at', '>', new Date())
    .where('u.active', '=', true)
    .executeTakeFirst();
  return row && { id: row.user_id, email: row.email, name: row.name, isAdmin: row.is_admin, active: row.active, createdAt: row.created_at };
}

export async function deleteSession(db: Executor, sessionHash: string): Promise<void> {
  await db.deleteFrom('session').where('session_hash', '=', sessionHash).execute();
}

/** Ends every session of the user (and expired ones of anybody while at it). */
export async function deleteUserSessions(db: Executor, userId: number): Promise<void> {
  await db
    .deleteFrom('session')
    .where((eb) => eb.or([eb('user_id', '=', userId), eb('expires_at', '<', new Date())]))
    .execute();
}
