import { sql } from 'kysely';
import type { Executor, Role } from '../db/schema.js';
import type { UserRecord } from './user.repository.js';

export interface ApiTokenRecord {
  id: number;
  userId: number;
  name: string;
  role: Role;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

export async function insertApiToken(
  db: Executor,
  values: { userId: number; name: string; tokenHash: string; role: Role; expiresAt: Date },
): Promise<ApiTokenRecord> {
  const row = await db
    .insertInto('api_token')
    .values({ user_id: values.userId, name: values.name, token_hash: values.tokenHash, role: values.role, expires_at: values.expiresAt })
    .returning(['token_id', 'user_id', 'name', 'role', 'created_at', 'expires_at', 'revoked_at', 'last_used_at'])
    .executeTakeFirstOrThrow();
  return toToken(row);
}

function toToken(r: {
  token_id: number;
  user_id: number;
  name: string;
  role: Role;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}): ApiTokenRecord {
  return {
    id: r.token_id,
    userId: r.user_id,
    name: r.name,
    role: r.role,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    lastUsedAt: r.last_used_at,
  };
}

export async function listApiTokens(db: Executor, userId: number): Promise<ApiTokenRecord[]> {
  const rows = await db
    .selectFrom('api_token')
    .select(['token_id', 'user_id', 'name', 'role', 'created_at', 'expires_at', 'revoked_at', 'last_used_at'])
    .where('user_id', '=', userId)
    .orderBy('token_id', 'desc')
    .execute();
  return rows.map(toToken);
}

/** The live (unrevoked, unexpired) token with this hash and its active owner. */
export async function findTokenUser(
  db: Executor,
  tokenHash: string,
): Promise<{ token: ApiTokenRecord; user: UserRecord } | undefined> {
  const r = await db
    .selectFrom('api_token as t')
    .innerJoin('app_user as u', 'u.user_id', 't.user_id')
    .select([
      't.token_id', 't.user_id', 't.name', 't.role', 't.created_at', 't.expires_at', 't.revoked_at', 't.last_used_at',
      'u.email', 'u.name as user_name', 'u.is_admin', 'u.active', 'u.created_at as user_created_at',
    ])
    .where('t.token_hash', '=', tokenHash)
    .where('t.revoked_at', 'is', null)
    .where('t.expires_at', '>', new Date())
    .where('u.active', '=', true)
    .executeTakeFirst();
  if (!r) return undefined;
  return {
    token: toToken(r),
    user: { id: r.user_id, email: r.email, name: r.user_name, isAdmin: r.is_admin, active: r.active, createdAt: r.user_created_at },
  };
}

/** Marks the token used; at most once a minute, so busy scripts do not write on every call. */
export async function touchApiToken(db: Executor, tokenId: number): Promise<void> {
  await sql`update api_token set last_used_at = now()
    where token_id = ${tokenId} and (last_used_at is null or last_used_at < now() - interval '1 minute')`.execute(db);
}

/** Answers whether a live token of the user was revoked. */
export async function revokeApiToken(db: Executor, tokenId: number, userId: number): Promise<boolean> {
  const result = await db
    .updateTable('api_token')
    .set({ revoked_at: new Date() })
    .where('token_id', '=', tokenId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
