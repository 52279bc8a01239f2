import type { Me, Role } from '$lib/api/client';

const rank: Record<Role, number> = { annotator: 1, engineer: 2, lead: 3, admin: 4 };

/** The role the signed-in user acts with in the project (admins everywhere), or null. */
export function roleIn(me: Me | null, projectId: number): Role | null {
  if (!me) return null;
  if (me.user.isAdmin && (me.tokenRole === null || me.tokenRole === 'admin')) return 'admin';
  return me.memberships.find((m) => m.projectId === projectId)?.role ?? null;
}

/** Whether `role` may do what needs `needed`; the server decides, this only hides what it would refuse. */
export function atLeast(role: Role | null, needed: Role): boolean {
  return role !== null && rank[role] >= rank[needed];
}
