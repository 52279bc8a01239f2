import { stringify } from 'csv-stringify/sync';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { type AuditEventRecord, type AuditQuery, listAuditEvents } from '../repositories/audit.repository.js';
import { neutraliseFormula } from './export.service.js';

export type { AuditEventRecord, AuditQuery };

const exportPage = 2000;

/** Reading the audit trail; it is written by database triggers (see the users_and_audit migration). */
export class AuditService {
  constructor(private readonly db: Kysely<Database>) {}

  async page(query: AuditQuery): Promise<{ events: AuditEventRecord[]; nextCursor: string | null }> {
    const rows = await listAuditEvents(this.db, { ...query, limit: query.limit + 1 });
    const hasMore = rows.length > query.limit;
    const events = hasMore ? rows.slice(0, query.limit) : rows;
    return { events, nextCursor: hasMore ? events[events.length - 1].id : null };
  }

  /** Every matching event as CSV, newest first, page by page so memory stays flat. */
  async *csv(query: Omit<AuditQuery, 'limit' | 'beforeId'>): AsyncGenerator<string> {
    yield stringify([['id', 'at', 'actor', 'project_id', 'action', 'entity', 'entity_id', 'before', 'after']]);
    let beforeId: string | undefined;
    for (;;) {
      const rows = await listAuditEvents(this.db, { ...query, beforeId, limit: exportPage });
      if (rows.length === 0) return;
      yield stringify(
        rows.map((e) =>
          [
            e.id,
            e.createdAt.toISOString(),
            e.actor,
            e.projectId === null ? '' : String(e.projectId),
            e.action,
            e.entity,
            e.entityId ?? '',
            e.before === null ? '' : JSON.stringify(e.before),
            e.after === null ? '' : JSON.stringify(e.after),
          ].map(neutraliseFormula),
        ),
      );
      if (rows.length < exportPage) return;
      beforeId = rows[rows.length - 1].id;
    }
  }
}
