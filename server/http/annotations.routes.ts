import { Hono } from 'hono';
import { z } from 'zod';
import type { AnnotationRecord, AnnotationService } from '../services/annotation.service.js';
import { actingAnnotator, requireProjectRole } from './auth.middleware.js';
import { itemParams } from './params.js';
import { validate, validHeader } from './validate.js';
import { limitBody } from './body-limit.js';

const decision = z.object({
  label: z.string().min(1, 'label is required').max(100),
  /** Optional: the annotator is the signed-in user; naming anyone else is refused. */
  annotator: z.string().trim().min(1).max(254).optional(),
  durationMs: z.number().int().min(0).max(24 * 3600 * 1000).optional(),
});
const idempotencyKey = z.string().min(8).max(200).optional();

export function annotationRoutes(annotations: AnnotationService) {
  return new Hono().post(
    '/:itemId/annotations',
    requireProjectRole('annotator'),
    limitBody(64 * 1024),
    validate('param', itemParams),
    validate('json', decision),
    async (c) => {
      const key = validHeader(c, 'idempotency-key', idempotencyKey) ?? null;
      const { label, durationMs, annotator } = c.req.valid('json');
      const decision = { label, durationMs, annotator: actingAnnotator(c, annotator) };
      const annotation = await annotations.submit(c.req.valid('param').itemId, decision, key);
      return c.json(toAnnotationJson(annotation), 201);
    },
  );
}

function toAnnotationJson(a: AnnotationRecord) {
  return {
    id: a.id,
    itemId: a.itemId,
    label: a.label,
    annotator: a.annotator,
    source: a.source,
    durationMs: a.durationMs,
    createdAt: a.createdAt.toISOString(),
    version: a.version,
  };
}
