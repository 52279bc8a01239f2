/**
 * Who may do what. Roles are ordered: an annotator labels, an engineer also runs rounds, models,
 * imports and exports, a lead also changes settings and members and reads the audit trail, and an
 * admin may do everything everywhere. Admin is held globally; the others per project.
 */
import type { ProjectRole, Role } from '../db/schema.js';

export type { ProjectRole, Role };

export const projectRoles: readonly ProjectRole[] = ['lead', 'engineer', 'annotator'];
export const roles: readonly Role[] = ['admin', ...projectRoles];

const rank: Record<Role, number> = { annotator: 1, engineer: 2, lead: 3, admin: 4 };

export function roleAtLeast(held: Role, needed: Role): boolean {
  return rank[held] >= rank[needed];
}

/** Who is making a request. */
export interface Principal {
  userId: number;
  /** Also the name annotations are recorded under. */
  email: string;
  name: string;
  userIsAdmin: boolean;
  /** An API token acts with at most this role; null for a browser session. */
  tokenRole: Role | null;
  via: 'session' | 'token';
}

/** The role the principal acts with in a project where they hold `membership` (if any). */
export function effectiveRole(principal: Principal, membership: ProjectRole | undefined): Role | undefined {
  const base: Role | undefined = principal.userIsAdmin ? 'admin' : membership;
  if (base === undefined) return undefined;
  if (principal.tokenRole === null || roleAtLeast(principal.tokenRole, base)) return base;
  return principal.tokenRole;
}

export function actsAsAdmin(principal: Principal): boolean {
  return principal.userIsAdmin && (principal.tokenRole === null || principal.tokenRole === 'admin');
}
