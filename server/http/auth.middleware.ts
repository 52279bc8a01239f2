/**
 * Who is asking, and may they? `authenticate` runs on every API request and names the principal
 * (session cookie or `Authorization: Bearer` token); each route then declares what it needs with
 * one of `requireUser`, `requireAdmin` or `requireProjectRole(role)`. Project routes answer 404 to
 * outsiders (they learn nothing, not even that the project exists) and 403 to members whose role
 * is too low.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { ForbiddenError, NotFoundError, UnauthenticatedError } from '../errors.js';
import type { AuthService } from '../services/auth.service.js';
import { requestHeader } from './node-request.js';
import { actsAsAdmin, type Principal, type ProjectRole, type Role, roleAtLeast } from '../services/roles.js';

export const sessionCookie = 'loopwise_session';

declare module 'hono' {
  interface ContextVariableMap {
    auth: AuthService;
    principal: Principal | undefined;
    /** Set by `requireProjectRole`: the role the principal acts with in the route's project. */
    projectRole: Role;
    projectId: number;
  }
}

export function authenticate(auth: AuthService): MiddlewareHandler {
  return async (c, next) => {
    c.set('auth', auth);
    const header = requestHeader(c, 'authorization');
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      const principal = match ? await auth.fromToken(match[1]) : undefined;
      // A wrong, expired or revoked token is an error, never a silent fall-back to anonymous.
      if (!principal) throw new UnauthenticatedError('The API token is not valid (wrong, expired or revoked)');
      c.set('principal', principal);
      return next();
    }
    const sessionId = getCookie(c, sessionCookie);
    c.set('principal', sessionId ? await auth.fromSession(sessionId) : undefined);
    return next();
  };
}

/** The signed-in principal; 401 without one. */
export function principalOf(c: Context): Principal {
  const principal = c.get('principal');
  if (!principal) throw new UnauthenticatedError();
  return principal;
}

export const requireUser: MiddlewareHandler = async (c, next) => {
  principalOf(c);
  return next();
};

export const requireAdmin: MiddlewareHandler = async (c, next) => {
  if (!actsAsAdmin(principalOf(c))) throw new ForbiddenError('Only admins can do this');
  return next();
};

/**
 * Lets members of the route's project with at least `min` through (admins always). The project is
 * the `:projectId` path parameter, or the project of the `:itemId` item.
 */
export function requireProjectRole(min: ProjectRole): MiddlewareHandler {
  return async (c, next) => {
    const principal = principalOf(c);
    const auth = c.get('auth');
    const projectParam = c.req.param('projectId');
    const itemParam = c.req.param('itemId');
    let projectId: number;
    let role: Role | undefined;
    if (projectParam !== undefined) {
      projectId = Number(projectParam);
      if (!Number.isSafeInteger(projectId) || projectId <= 0) throw new NotFoundError(`Project ${projectParam}`);
      role = await auth.projectRole(principal, projectId);
      if (role === undefined) throw new NotFoundError(`Project ${projectId}`);
    } else if (itemParam !== undefined) {
      const itemId = Number(itemParam);
      const found = Number.isSafeInteger(itemId) && itemId > 0 ? await auth.itemRole(principal, itemId) : undefined;
      if (found === undefined || found.role === undefined) throw new NotFoundError(`Item ${itemParam}`);
      projectId = found.projectId;
      role = found.role;
    } else {
      throw new Error('requireProjectRole needs a :projectId or :itemId route parameter');
    }
    if (!roleAtLeast(role, min)) throw new ForbiddenError(`This needs the ${min} role in project ${projectId}`);
    c.set('projectRole', role);
    c.set('projectId', projectId);
    return next();
  };
}

/**
 * The annotator an annotation, skip or lease is recorded under: always the signed-in user. A
 * request may still name them (older clients do); naming anyone else is refused.
 */
export function actingAnnotator(c: Context, named: string | undefined): string {
  const principal = principalOf(c);
  if (named !== undefined && named.trim().toLowerCase() !== principal.email) {
    throw new ForbiddenError(`You act as ${principal.email}; a request cannot name another annotator`, 'annotator_mismatch');
  }
  return principal.email;
}
