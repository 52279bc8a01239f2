import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ForbiddenError, InvalidInputError, UnauthenticatedError } from '../errors.js';
import { findTokenUser, touchApiToken } from '../repositories/api-token.repository.js';
import { findItemProjectRole, findMemberRole, listMemberships } from '../repositories/member.repository.js';
import { deleteSession, deleteUserSessions, findSessionUser, insertSession } from '../repositories/session.repository.js';
import { findPasswordHash, findUserCredentials, updateUser, type UserRecord } from '../repositories/user.repository.js';
import { setAuditActor } from '../repositories/audit.repository.js';
import { AccessCache } from './access-cache.js';
import { effectiveRole, type Principal, type Role } from './roles.js';
import { decoyPasswordHash, hashPassword, hashSecret, newSecret, verifyPassword } from './secrets.js';

export const sessionLifetimeMs = 7 * 24 * 3600 * 1000;
export const minPasswordLength = 10;

export interface NewSession {
  /** The cookie value; only its hash is stored. */
  sessionId: string;
  expiresAt: Date;
  user: UserRecord;
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function checkPassword(password: string): void {
  if (password.length < minPasswordLength) throw new InvalidInputError(`A password needs at least ${minPasswordLength} characters`);
}

/** Sessions, API tokens and the question every request asks: who is this, and what may they do here? */
export class AuthService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly access = new AccessCache(),
  ) {}

  /** Checks the password and starts a new session; the session the browser had is ended (rotation). */
  async login(email: string, password: string, previousSessionId: string | undefined): Promise<NewSession> {
    const user = await findUserCredentials(this.db, normaliseEmail(email));
    const ok = await verifyPassword(password, user?.passwordHash ?? decoyPasswordHash);
    if (!user || !user.passwordHash || !ok || !user.active) throw new UnauthenticatedError('Wrong email or password');
    if (previousSessionId) {
      await deleteSession(this.db, hashSecret(previousSessionId));
      this.access.forgetAccess();
    }
    return this.startSession(user);
  }

  async logout(sessionId: string): Promise<void> {
    await deleteSession(this.db, hashSecret(sessionId));
    this.access.forgetAccess();
  }

  /** Sets a new password, ends every session of the user, and answers a fresh one for this browser. */
  async changePassword(principal: Principal, currentPassword: string, newPassword: string): Promise<NewSession> {
    if (principal.via !== 'session') throw new ForbiddenError('Change the password from a signed-in browser, not with an API token');
    const stored = await findPasswordHash(this.db, principal.userId);
    if (!stored || !(await verifyPassword(currentPassword, stored))) throw new ForbiddenError('The current password is wrong', 'wrong_password');
    checkPassword(newPassword);
    const passwordHash = await hashPassword(newPassword);
    await this.db.transaction().execute(async (trx) => {
      await setAuditActor(trx, principal.email);
      await updateUser(trx, principal.userId, { passwordHash });
      await deleteUserSessions(trx, principal.userId);
    });
    this.access.forgetAccess();
    const user = await findUserCredentials(this.db, principal.email);
    return this.startSession(user!);
  }

  async startSession(user: UserRecord): Promise<NewSession> {
    const sessionId = newSecret('lws');
    const expiresAt = new Date(Date.now() + sessionLifetimeMs);
    await insertSession(this.db, hashSecret(sessionId), user.id, expiresAt);
    return { sessionId, expiresAt, user };
  }

  fromSession(sessionId: string): Promise<Principal | undefined> {
    const hash = hashSecret(sessionId);
    return this.remembered(`s:${hash}`, async () => {
      const user = await findSessionUser(this.db, hash);
      return user && { principal: { userId: user.id, email: user.email, name: user.name, userIsAdmin: user.isAdmin, tokenRole: null, via: 'session' } };
    });
  }

  fromToken(secret: string): Promise<Principal | undefined> {
    const hash = hashSecret(secret);
    return this.remembered(`t:${hash}`, async () => {
      const found = await findTokenUser(this.db, hash);
      if (!found) return undefined;
      if (found.token.lastUsedAt === null || Date.now() - found.token.lastUsedAt.getTime() > 60_000) {
        await touchApiToken(this.db, found.token.id);
      }
      const { user, token } = found;
      return {
        principal: { userId: user.id, email: user.email, name: user.name, userIsAdmin: user.isAdmin, tokenRole: token.role, via: 'token' },
        validUntil: token.expiresAt,
      };
    });
  }

  /** The principal behind a credential, from the access cache or else `load` (then remembered). */
  private async remembered(
    key: string,
    load: () => Promise<{ principal: Principal; validUntil?: Date } | undefined>,
  ): Promise<Principal | undefined> {
    const known = this.access.principals.get(key);
    if (known) return known;
    const found = await load();
    if (found) this.access.principals.set(key, found.principal, found.validUntil);
    return found?.principal;
  }

  /** The role the principal acts with in the project; undefined for an outsider. */
  async projectRole(principal: Principal, projectId: number): Promise<Role | undefined> {
    if (principal.userIsAdmin) return effectiveRole(principal, undefined);
    const key = `${projectId}:${principal.userId}`;
    let membership = this.access.roles.get(key);
    if (!membership) {
      membership = await findMemberRole(this.db, projectId, principal.userId);
      if (membership) this.access.roles.set(key, membership);
    }
    return effectiveRole(principal, membership);
  }

  /** Notes that these items belong to the project (items never move), e.g. when handed out. */
  rememberItemsOf(projectId: number, itemIds: readonly number[]): void {
    for (const itemId of itemIds) this.access.itemProjects.set(itemId, projectId);
  }

  /** The item's project and the principal's role in it; undefined when the item does not exist. */
  async itemRole(principal: Principal, itemId: number): Promise<{ projectId: number; role: Role | undefined } | undefined> {
    const projectId = this.access.itemProjects.get(itemId);
    if (projectId !== undefined) return { projectId, role: await this.projectRole(principal, projectId) };
    const found = await findItemProjectRole(this.db, itemId, principal.userId);
    if (!found) return undefined;
    this.access.itemProjects.set(itemId, found.projectId);
    if (found.role) this.access.roles.set(`${found.projectId}:${principal.userId}`, found.role);
    return { projectId: found.projectId, role: effectiveRole(principal, found.role) };
  }

  /** The projects the principal is a member of, with the role they act with in each. */
  async memberships(principal: Principal): Promise<Array<{ projectId: number; role: Role }>> {
    const memberships = await listMemberships(this.db, principal.userId);
    return memberships.map((m) => ({ projectId: m.projectId, role: effectiveRole(principal, m.role)! }));
  }
}
