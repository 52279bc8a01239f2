/**
 * The answers every API request needs before it can do anything — who holds this credential, and
 * what role they have in this project — remembered for a few seconds. Asking the database each
 * time costs two round trips per annotator call, as much as the call's own work.
 *
 * Changes made through this process (revoking a token, changing or removing a member, deactivating
 * a user, signing out, a new password) forget everything at once. Changes made through another
 * server sharing the database reach this one within `ttlMs`.
 */
import type { Principal, ProjectRole } from './roles.js';

/** A map whose entries expire, holding at most `maxEntries` (the oldest go first). */
export class ExpiringMap<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt > Date.now()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  /** Remembers `value` for the map's time to live, or until `validUntil` if that comes first. */
  set(key: K, value: V, validUntil?: Date): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as K);
    const expiresAt = Math.min(Date.now() + this.ttlMs, validUntil?.getTime() ?? Infinity);
    this.entries.set(key, { value, expiresAt });
  }

  clear(): void {
    this.entries.clear();
  }
}

export class AccessCache {
  /** Credential (hashed, prefixed by its kind) → principal. Unknown credentials are not remembered. */
  readonly principals: ExpiringMap<string, Principal>;
  /** `${projectId}:${userId}` → the member's role. Outsiders are not remembered. */
  readonly roles: ExpiringMap<string, ProjectRole>;
  /** Item → its project; an item never moves, so this only expires to bound memory. */
  readonly itemProjects: ExpiringMap<number, number>;

  constructor(ttlMs = 5_000) {
    this.principals = new ExpiringMap(ttlMs, 10_000);
    this.roles = new ExpiringMap(ttlMs, 10_000);
    this.itemProjects = new ExpiringMap(10 * 60_000, 100_000);
  }

  /** Forgets who is who and who may do what (item → project stays true). */
  forgetAccess(): void {
    this.principals.clear();
    this.roles.clear();
  }
}
