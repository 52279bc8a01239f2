import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ForbiddenError, InvalidInputError, UnauthenticatedError } from '../errors.js';
import { findTokenUser, touchApiToken } from '../repositories/api-token.repository.js';
import { findItemProjectRole, findMemberRole, listMemberships } from '../repositories/member.repository.js';
import { deleteSession, deleteUserSessions, findSessionUser, insertSession } from '../repositories/session.repository.js';
import { findPasswordHash, findUserCredentials, updateUser, type UserRecord } from '../repositories/user.repository.js';
import { setAuditActor } from '../repositories/audit.repository.js';
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
  constructor(private readonly db: Kysely<Database>) {}

  /** Checks the password and starts a new session; the session the browser had is ended (rotation). */
  async login(email: string, password: string, previousSessionId: string | undefined): Promise<NewSession> {
    const user = await findUserCredentials(this.db, normaliseEmail(email));
    const ok = await verifyPassword(password, user?.passwordHash ?? decoyPasswordHash);
    if (!user || !user.passwordHash || !ok || !user.active) throw new UnauthenticatedError('Wrong email or password');
    if (previousSessionId) await deleteSession(this.db, hashSecret(previousSessionId));
    return this.startSession(user);
  }

  async logout(sessionId: string): Promise<void> {
    await deleteSession(this.db, hashSecret(sessionId));
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
    const user = await findUserCredentials(this.db, principal.email);
    return this.startSession(user!);
  }

  async startSession(user: UserRecord): Promise<NewSession> {
    const sessionId = newSecret('lws');
    const expiresAt = new Date(Date.now() + sessionLifetimeMs);
    await insertSession(this.db, hashSecret(sessionId), user.id, expiresAt);
    return { sessionId, expiresAt, user };
  }

  async fromSession(sessionId: string): Promise<Principal | undefined> {
    const user = await findSessionUser(this.db, hashSecret(sessionId));
    return user && { userId: user.id, email: user.email, name: user.name, userIsAdmin: user.isAdmin, tokenRole: null, via: 'session' };
  }

  async fromToken(secret: string): Promise<Principal | undefined> {
    const found = await findTokenUser(this.db, hashSecret(secret));
    if (!found) return undefined;
    if (found.token.lastUsedAt === null || Date.now() - found.token.lastUsedAt.getTime() > 60_000) {
      await touchApiToken(this.db, found.token.id);
    }
    const { user, token } = found;
    return { userId: user.id, email: user.email, name: user.name, userIsAdmin: user.isAdmin, tokenRole: token.role, via: 'token' };
  }

  /** The role the principal acts with in the project; undefined for an outsider. */
  async projectRole(principal: Principal, projectId: number): Promise<Role | undefined> {
    const membership = principal.userIsAdmin ? undefined : await findMemberRole(this.db, projectId, principal.userId);
    return effectiveRole(principal, membership);
  }

  /** The item's project and the principal's role in it; undefined when the item does not exist. */
  async itemRole(principal: Principal, itemId: number): Promise<{ projectId: number; role: Role | undefined } | undefined> {
    const found = await findItemProjectRole(this.db, itemId, principal.userId);
    return found && { projectId: found.projectId, role: effectiveRole(principal, found.role) };
  }

  /** The projects the principal is a member of, with the role they act with in each. */
  async memberships(principal: Principal): Promise<Array<{ projectId: number; role: Role }>> {
    const memberships = await listMemberships(this.db, principal.userId);
    return memberships.map((m) => ({ projectId: m.projectId, role: effectiveRole(principal, m.role)! }));
  }
}
