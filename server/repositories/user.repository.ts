import { sql } from 'kysely';
import type { Selectable } from 'kysely';
import type { AppUserTable, Executor } from '../db/schema.js';

export interface UserRecord {
  id: number;
  email: string;
  name: string;
  isAdmin: boolean;
  active: boolean;
  createdAt: Date;
}

function toUser(row: Selectable<AppUserTable>): UserRecord {
  return { id: row.user_id, email: row.email, name: row.name, isAdmin: row.is_admin, active: row.active, createdAt: row.created_at };
}

export async function insertUser(
  db: Executor,
  values: { email: string; name: string; passwordHash: string | null; isAdmin: boolean },
): Promise<UserRecord | undefined> {
  const row = await db
    .insertInto('app_user')
    .values({ email: values.email, name: values.name, password_hash: values.passwordHash, is_admin: values.isAdmin })
    .onConflict((oc) => oc.column('email').doNothing())
    .returningAll()
    .executeTakeFirst();
  return row && toUser(row);
}

export async function findUserById(db: Executor, userId: number): Promise<UserRecord | undefined> {
  const row = await db.selectFrom('app_user').selectAll().where('user_id', '=', userId).executeTakeFirst();
  return row && toUser(row);
}

/** The user and their password hash, for checking a login. */
export async function findUserCredentials(
  db: Executor,
  email: string,
): Promise<(UserRecord & { passwordHash: string | null }) | undefined> {
  const row = await db.selectFrom('app_user').selectAll().where('email', '=', email).executeTakeFirst();
  return row && { ...toUser(row), passwordHash: row.password_hash };
}

export async function findPasswordHash(db: Executor, userId: number): Promise<string | null> {
  const row = await db.selectFrom('app_user').select('password_hash').where('user_id', '=', userId).executeTakeFirst();
  return row?.password_hash ?? null;
}

export async function listUsers(db: Executor): Promise<UserRecord[]> {
  const rows = await db.selectFrom('app_user').selectAll().orderBy('user_id').execute();
  return rows.map(toUser);
}

export async function countUsers(db: Executor): Promise<number> {
  const { n } = await db.selectFrom('app_user').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  return n;
}

export async function updateUser(
  db: Executor,
  userId: number,
  patch: { name?: string; passwordHash?: string; active?: boolean; isAdmin?: boolean },
): Promise<void> {
  const values = {
    ...(patch.name !== undefined && { name: patch.name }),
    ...(patch.passwordHash !== undefined && { password_hash: patch.passwordHash }),
    ...(patch.active !== undefined && { active: patch.active }),
    ...(patch.isAdmin !== undefined && { is_admin: patch.isAdmin }),
  };
  if (Object.keys(values).length === 0) return;
  await db.updateTable('app_user').set(values).where('user_id', '=', userId).execute();
}
