import { Hono } from 'hono';
import { z } from 'zod';
import type { DashboardService } from '../services/dashboard.service.js';
import { requireProjectRole } from './auth.middleware.js';
import { projectParams } from './params.js';
import { validate } from './validate.js';

export function dashboardRoutes(dashboard: DashboardService) {
  return new Hono().get(
    '/:projectId/dashboard',
    requireProjectRole('engineer'),
    validate('param', projectParams),
    validate('query', z.object({ hours: z.coerce.number().int().min(1).max(24 * 90).default(48) })),
    async (c) => {
      const data = await dashboard.get(c.req.valid('param').projectId, c.req.valid('query').hours);
      return c.json({
        ...data,
        labelsPerHour: data.labelsPerHour.map((h) => ({ hour: h.hour.toISOString(), labels: h.labels })),
        annotators: data.annotators.map((a) => ({ ...a, lastAt: a.lastAt.toISOString() })),
      });
    },
  );
}
