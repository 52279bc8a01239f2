import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.js';
import { setAuditActor } from '../repositories/audit.repository.js';
import { claimInvite, findOpenInvite, insertInvite, type InviteRecord } from '../repositories/invite.repository.js';
import { upsertMember } from '../repositories/member.repository.js';
import { findProject } from '../repositories/project.repository.js';
import { deleteUserSessions } from '../repositories/session.repository.js';
import { countUsers, findUserById, insertUser, listUsers, updateUser, type UserRecord } from '../repositories/user.repository.js';
import { checkPassword, normaliseEmail } from './auth.service.js';
import type { ProjectRole, Role } from './roles.js';
import { hashPassword, hashSecret, newSecret } from './secrets.js';
import { AccessCache } from './access-cache.js';

export type { UserRecord };

export const inviteLifetimeMs = 7 * 24 * 3600 * 1000;
export const setupLinkLifetimeMs = 24 * 3600 * 1000;

export interface NewUser {
  email: string;
  name?: string;
  /** null: the user cannot sign in with a password (a script account using API tokens). */
  password: string | null;
  /** `admin` makes a global admin; a project role needs `projectId`. */
  role?: Role;
  projectId?: number;
}

export interface InviteView {
  kind: 'setup' | 'invite';
  email: string | null;
  projectId: number | null;
  projectName: string | null;
  role: ProjectRole | null;
  expiresAt: Date;
}

/** Accounts: creating them (first admin, invites, scripts) and switching them off. */
export class UserService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly access = new AccessCache(),
  ) {}

  hasUsers(): Promise<boolean> {
    return countUsers(this.db).then((n) => n > 0);
  }

  list(): Promise<UserRecord[]> {
    return listUsers(this.db);
  }

  /** Creates a user, and their membership when a project role is given, in one transaction. */
  async create(input: NewUser, actor = 'system'): Promise<UserRecord> {
    if (input.password !== null) checkPassword(input.password);
    const passwordHash = input.password === null ? null : await hashPassword(input.password);
    if (input.role !== undefined && input.role !== 'admin' && input.projectId === undefined) {
      throw new ConflictError('project_required', `The role ${input.role} is held in a project: name the project`);
    }
    return this.db.transaction().execute(async (trx) => {
      await setAuditActor(trx, actor);
      if (input.projectId !== undefined && !(await findProject(trx, input.projectId))) throw new NotFoundError(`Project ${input.projectId}`);
      const user = await insertUser(trx, {
        email: normaliseEmail(input.email),
        name: input.name?.trim() ?? '',
        passwordHash,
        isAdmin: input.role === 'admin',
      });
      if (!user) throw new ConflictError('email_taken', `There is already an account for ${normaliseEmail(input.email)}`);
      if (input.projectId !== undefined && input.role !== undefined && input.role !== 'admin') {
        await upsertMember(trx, input.projectId, user.id, input.role);
      }
      return user;
    });
  }

  /**
   * A one-time link that creates the first admin; null once any user exists, so the link cannot
   * be used to take over an installation that is already set up.
   */
  async createSetupLink(): Promise<{ token: string; expiresAt: Date } | null> {
    if (await this.hasUsers()) return null;
    const token = newSecret('lwi');
    const invite = await insertInvite(this.db, {
      tokenHash: hashSecret(token),
      projectId: null,
      role: null,
      isAdmin: true,
      email: null,
      createdBy: null,
      expiresAt: new Date(Date.now() + setupLinkLifetimeMs),
    });
    return { token, expiresAt: invite.expiresAt };
  }

  /** A single-use link that makes whoever accepts it a member of the project with `role`. */
  async invite(
    projectId: number,
    input: { role: ProjectRole; email?: string },
    actor: { userId: number; email: string },
  ): Promise<{ token: string; expiresAt: Date }> {
    const token = newSecret('lwi');
    const invite = await this.db.transaction().execute(async (trx) => {
      await setAuditActor(trx, actor.email);
      if (!(await findProject(trx, projectId))) throw new NotFoundError(`Project ${projectId}`);
      return insertInvite(trx, {
        tokenHash: hashSecret(token),
        projectId,
        role: input.role,
        isAdmin: false,
        email: input.email === undefined ? null : normaliseEmail(input.email),
        createdBy: actor.userId,
        expiresAt: new Date(Date.now() + inviteLifetimeMs),
      });
    });
    return { token, expiresAt: invite.expiresAt };
  }

  async describeInvite(token: string): Promise<InviteView> {
    const invite = await findOpenInvite(this.db, hashSecret(token));
    if (!invite) throw new NotFoundError('Invite (it may have been used or have expired)');
    return this.view(invite);
  }

  /** Uses the invite up and creates the account it invites; a used or expired invite is a 404. */
  async acceptInvite(token: string, input: { email: string; name: string; password: string }): Promise<UserRecord> {
    checkPassword(input.password);
    const passwordHash = await hashPassword(input.password);
    const email = normaliseEmail(input.email);
    return this.db.transaction().execute(async (trx) => {
      await setAuditActor(trx, email);
      const invite = await claimInvite(trx, hashSecret(token));
      if (!invite) throw new NotFoundError('Invite (it may have been used or have expired)');
      if (invite.isAdmin && (await countUsers(trx)) > 0) throw new NotFoundError('Invite (this installation is already set up)');
      if (invite.email !== null && invite.email !== email) throw new ForbiddenError(`This invite is for ${invite.email}`, 'invite_email_mismatch');
      const user = await insertUser(trx, { email, name: input.name.trim(), passwordHash, isAdmin: invite.isAdmin });
      if (!user) throw new ConflictError('email_taken', `There is already an account for ${email}; ask a lead to add it to the project`);
      if (invite.projectId !== null && invite.role !== null) await upsertMember(trx, invite.projectId, user.id, invite.role);
      return user;
    });
  }

  /** Deactivating ends the user's sessions; their API tokens stop working at once as well. */
  async setActive(userId: number, active: boolean, actor: { userId: number; email: string }): Promise<UserRecord> {
    if (userId === actor.userId && !active) throw new ForbiddenError('You cannot deactivate yourself');
    const user = await this.db.transaction().execute(async (trx) => {
      await setAuditActor(trx, actor.email);
      const found = await findUserById(trx, userId);
      if (!found) throw new NotFoundError(`User ${userId}`);
      await updateUser(trx, userId, { active });
      if (!active) await deleteUserSessions(trx, userId);
      return { ...found, active };
    });
    this.access.forgetAccess();
    return user;
  }

  private async view(invite: InviteRecord): Promise<InviteView> {
    const project = invite.projectId === null ? undefined : await findProject(this.db, invite.projectId);
    return {
      kind: invite.isAdmin ? 'setup' : 'invite',
      email: invite.email,
      projectId: invite.projectId,
      projectName: project?.name ?? null,
      role: invite.role,
      expiresAt: invite.expiresAt,
    };
  }
}
