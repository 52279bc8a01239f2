import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import { z } from 'zod';
import type { ExportService } from '../services/export.service.js';
import { requireProjectRole } from './auth.middleware.js';
import { projectParams } from './params.js';
import { rateLimit } from './rate-limit.js';
import { validate } from './validate.js';

const exportQuery = z.object({ format: z.enum(['jsonl', 'csv']).default('jsonl') });

const contentTypes = { jsonl: 'application/x-ndjson; charset=utf-8', csv: 'text/csv; charset=utf-8' } as const;

export function exportRoutes(exports: ExportService) {
  return new Hono().get('/:projectId/export', requireProjectRole('engineer'), rateLimit('expensive'), validate('param', projectParams), validate('query', exportQuery), async (c) => {
    const { format } = c.req.valid('query');
    const { filename, chunks } = await exports.open(c.req.valid('param').projectId, format);
    c.header('Content-Type', contentTypes[format]);
    c.header('Content-Disposition', `attachment; filename="${filename}"`);
    c.header('Cache-Control', 'no-store');
    return stream(c, async (out) => {
      for await (const chunk of chunks) await out.write(chunk);
    });
  });
}
