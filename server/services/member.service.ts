import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { NotFoundError } from '../errors.js';
import { setAuditActor } from '../repositories/audit.repository.js';
import { deleteMember, findMemberRole, listMembers, type MemberRecord, upsertMember } from '../repositories/member.repository.js';
import { findUserCredentials } from '../repositories/user.repository.js';
import { normaliseEmail } from './auth.service.js';
import type { ProjectRole } from './roles.js';
import { AccessCache } from './access-cache.js';

export type { MemberRecord };

/** Who belongs to a project, and with which role. */
export class MemberService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly access = new AccessCache(),
  ) {}

  list(projectId: number): Promise<MemberRecord[]> {
    return listMembers(this.db, projectId);
  }

  /** Adds an existing account to the project (new people get an invite link instead). */
  async add(projectId: number, email: string, role: ProjectRole, actor: string): Promise<MemberRecord[]> {
    await this.db.transaction().execute(async (trx) => {
      await setAuditActor(trx, actor);
      const user = await findUserCredentials(trx, normaliseEmail(email));
      if (!user) throw new NotFoundError(`Account ${normaliseEmail(email)} (send an invite link instead)`);
      await upsertMember(trx, projectId, user.id, role);
    });
    this.access.forgetAccess();
    return this.list(projectId);
  }

  async changeRole(projectId: number, userId: number, role: ProjectRole, actor: string): Promise<MemberRecord[]> {
    await this.db.transaction().execute(async (trx) => {
      await setAuditActor(trx, actor);
      if (!(await findMemberRole(trx, projectId, userId))) throw new NotFoundError(`Member ${userId}`);
      await upsertMember(trx, projectId, userId, role);
    });
    this.access.forgetAccess();
    return this.list(projectId);
  }

  async remove(projectId: number, userId: number, actor: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await setAuditActor(trx, actor);
      if (!(await deleteMember(trx, projectId, userId))) throw new NotFoundError(`Member ${userId}`);
    });
    this.access.forgetAccess();
  }
}
