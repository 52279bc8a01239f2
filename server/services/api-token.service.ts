import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ForbiddenError, NotFoundError } from '../errors.js';
import { type ApiTokenRecord, insertApiToken, listApiTokens, revokeApiToken } from '../repositories/api-token.repository.js';
import { setAuditActor } from '../repositories/audit.repository.js';
import { findUserById } from '../repositories/user.repository.js';
import type { Role } from './roles.js';
import { hashSecret, newSecret } from './secrets.js';
import { AccessCache } from './access-cache.js';

export type { ApiTokenRecord };

export const maxTokenDays = 366;

/** API tokens for scripts: shown once, stored hashed, limited to a role, expiring, revocable. */
export class ApiTokenService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly access = new AccessCache(),
  ) {}

  async create(
    owner: { userId: number; email: string },
    input: { name: string; role: Role; expiresInDays: number },
  ): Promise<{ token: string; record: ApiTokenRecord }> {
    const user = await findUserById(this.db, owner.userId);
    if (!user) throw new NotFoundError(`User ${owner.userId}`);
    if (input.role === 'admin' && !user.isAdmin) throw new ForbiddenError('Only admins can create admin tokens');
    const token = newSecret('lw');
    const record = await this.db.transaction().execute(async (trx) => {
      await setAuditActor(trx, owner.email);
      return insertApiToken(trx, {
        userId: owner.userId,
        name: input.name.trim(),
        tokenHash: hashSecret(token),
        role: input.role,
        expiresAt: new Date(Date.now() + input.expiresInDays * 24 * 3600 * 1000),
      });
    });
    return { token, record };
  }

  list(userId: number): Promise<ApiTokenRecord[]> {
    return listApiTokens(this.db, userId);
  }

  async revoke(owner: { userId: number; email: string }, tokenId: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await setAuditActor(trx, owner.email);
      if (!(await revokeApiToken(trx, tokenId, owner.userId))) throw new NotFoundError(`Token ${tokenId}`);
    });
    this.access.forgetAccess();
  }
}
