import { sql } from 'kysely';
import type { AuditAction, Executor } from '../db/schema.js';

/**
 * Names who is acting for the rest of the transaction; the audit triggers (see the
 * users_and_audit migration) record it with every change. Must run inside a transaction.
 */
export async function setAuditActor(db: Executor, actor: string): Promise<void> {
  await sql`select set_config('loopwise.actor', ${actor}, true)`.execute(db);
}

export interface AuditEventRecord {
  id: string;
  createdAt: Date;
  actor: string;
  projectId: number | null;
  action: AuditAction;
  entity: string;
  entityId: string | null;
  before: unknown;
  after: unknown;
}

export interface AuditQuery {
  /** Omitted: events of every project and of none (users, tokens). */
  projectId?: number;
  actor?: string;
  entity?: string;
  action?: AuditAction;
  /** Keyset cursor: only events older than this id. */
  beforeId?: string;
  limit: number;
}

/** Newest first. */
export async function listAuditEvents(db: Executor, query: AuditQuery): Promise<AuditEventRecord[]> {
  let q = db.selectFrom('audit_event').selectAll();
  if (query.projectId !== undefined) q = q.where('project_id', '=', query.projectId);
  if (query.actor !== undefined) q = q.where('actor', '=', query.actor);
  if (query.entity !== undefined) q = q.where('entity', '=', query.entity);
  if (query.action !== undefined) q = q.where('action', '=', query.action);
  if (query.beforeId !== undefined) q = q.where('audit_id', '<', query.beforeId);
  const rows = await q.orderBy('audit_id', 'desc').limit(query.limit).execute();
  return rows.map((r) => ({
    id: String(r.audit_id),
    createdAt: r.created_at,
    actor: r.actor,
    projectId: r.project_id,
    action: r.action,
    entity: r.entity,
    entityId: r.entity_id,
    before: r.before,
    after: r.after,
  }));
}

/** Records an event no trigger sees, such as an import (one row for the whole file). */
export async function insertAuditEvent(
  db: Executor,
  event: { actor: string; projectId: number | null; action: AuditAction; entity: string; entityId: string | null; after: unknown },
): Promise<void> {
  await db
    .insertInto('audit_event')
    .values({
      actor: event.actor,
      project_id: event.projectId,
      action: event.action,
      entity: event.entity,
      entity_id: event.entityId,
      after: JSON.stringify(event.after),
    })
    .execute();
}
