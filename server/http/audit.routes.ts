import { Hono } from 'hono';
import type { Context } from 'hono';
import { stream } from 'hono/streaming';
import { z } from 'zod';
import type { AuditEventRecord, AuditQuery, AuditService } from '../services/audit.service.js';
import { requireAdmin, requireProjectRole } from './auth.middleware.js';
import { projectParams } from './params.js';
import { rateLimit } from './rate-limit.js';
import { validate } from './validate.js';

const auditQuery = z.object({
  actor: z.string().trim().min(1).max(254).optional(),
  entity: z.string().trim().min(1).max(50).optional(),
  action: z.enum(['create', 'change', 'delete']).optional(),
  cursor: z.string().regex(/^\d{1,19}$/, 'cursor is not one this server handed out').optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  format: z.enum(['json', 'csv']).default('json'),
});

/** The audit trail of a project (leads) and of the whole installation (admins). */
export function auditRoutes(audit: AuditService) {
  const answer = async (c: Context, projectId: number | undefined, q: z.infer<typeof auditQuery>) => {
    const query: AuditQuery = { projectId, actor: q.actor, entity: q.entity, action: q.action, beforeId: q.cursor, limit: q.limit };
    if (q.format === 'csv') {
      c.header('Content-Type', 'text/csv; charset=utf-8');
      c.header('Content-Disposition', `attachment; filename="audit${projectId === undefined ? '' : `-project-${projectId}`}.csv"`);
      c.header('Cache-Control', 'no-store');
      return stream(c, async (out) => {
        for await (const chunk of audit.csv(query)) await out.write(chunk);
      });
    }
    const page = await audit.page(query);
    return c.json({ events: page.events.map(eventJson), nextCursor: page.nextCursor });
  };
  return new Hono()
    .get('/projects/:projectId/audit', requireProjectRole('lead'), rateLimit('expensive'), validate('param', projectParams), validate('query', auditQuery), (c) =>
      answer(c, c.req.valid('param').projectId, c.req.valid('query')),
    )
    .get('/audit', requireAdmin, rateLimit('expensive'), validate('query', auditQuery), (c) => answer(c, undefined, c.req.valid('query')));
}

function eventJson(e: AuditEventRecord) {
  return { ...e, createdAt: e.createdAt.toISOString() };
}
