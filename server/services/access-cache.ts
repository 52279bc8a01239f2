/**
 * The answers every API request needs before it can do anything — who holds this credential, and
 * what role they have in this project — remembered for a few seconds. Asking the database each
 * time costs two round trips per annotator call, as much as the call's own work.
 *
 * Changes made through this process (revoking a token, changing or removing a member, deactivating
 * a user, signing out, a new password) forget everything at once. Changes made through another
 * server sharing the database reach this one within `ttlMs`.
 */
import { ExpiringMap } from './expiring-map.js';
import type { Principal, ProjectRole } from './roles.js';

export class AccessCache {
  /** Credential (hashed, prefixed by its kind) → principal. Unknown credentials are not remembered. */
  readonly principals: ExpiringMap<string, Principal>;
  /** `${projectId}:${userId}` → the member's role. Outsiders are not remembered. */
  readonly roles: ExpiringMap<string, ProjectRole>;
  /** Item → its project; an item never moves, so this only expires to bound memory. */
  readonly itemProjects: ExpiringMap<number, number>;

  constructor(ttlMs = 5_000) {
    // Each lives between half and all of the time to live (see ExpiringMap).
    this.principals = new ExpiringMap(ttlMs, 10_000, 0.5);
    this.roles = new ExpiringMap(ttlMs, 10_000, 0.5);
    this.itemProjects = new ExpiringMap(10 * 60_000, 100_000);
  }

  /** Forgets who is who and who may do what (item → project stays true). */
  forgetAccess(): void {
    this.principals.clear();
    this.roles.clear();
  }
}
