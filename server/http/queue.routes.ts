import { Hono } from 'hono';
import { z } from 'zod';
import type { QueuePick, QueueService } from '../services/queue.service.js';
import { itemContentJson } from './item-content.json.js';
import { actingAnnotator, requireProjectRole } from './auth.middleware.js';
import { itemParams, projectParams } from './params.js';
import { validate } from './validate.js';

/** Optional: the annotator is the signed-in user; naming anyone else is refused. */
const annotator = z.string().trim().min(1).max(254).optional();

/** The annotator's side of the queue: picks, leases, skips and progress. */
export function queueRoutes(queue: QueueService) {
  return new Hono()
    .post(
      '/projects/:projectId/queue/next',
      requireProjectRole('annotator'),
      validate('param', projectParams),
      validate('json', z.object({ annotator, n: z.number().int().min(1).max(50).default(10) })),
      async (c) => {
        const { annotator: named, n } = c.req.valid('json');
        const { projectId } = c.req.valid('param');
        const picks = await queue.next(projectId, actingAnnotator(c, named), n);
        // The labels for these items come next: their permission check then needs no lookup.
        c.get('auth').rememberItemsOf(projectId, picks.map((pick) => pick.itemId));
        return c.json({ items: picks.map(toQueueItemJson) });
      },
    )
    .post('/projects/:projectId/leases/renew', requireProjectRole('annotator'), validate('param', projectParams), validate('json', z.object({ annotator })), async (c) => {
      const renewed = await queue.renew(c.req.valid('param').projectId, actingAnnotator(c, c.req.valid('json').annotator));
      return c.json({ renewed: renewed.renewed, leaseExpiresAt: renewed.leaseExpiresAt?.toISOString() ?? null });
    })
    .get(
      '/projects/:projectId/progress',
      requireProjectRole('annotator'),
      validate('param', projectParams),
      // `dayStart`: when the annotator's day began where they are (default: the database's midnight).
      validate('query', z.object({ annotator, dayStart: z.iso.datetime({ offset: true }).optional() })),
      async (c) => {
        const { annotator: named, dayStart } = c.req.valid('query');
        const since = dayStart === undefined ? undefined : new Date(dayStart);
        return c.json(await queue.progress(c.req.valid('param').projectId, actingAnnotator(c, named), since));
      },
    )
    .post('/items/:itemId/skip', requireProjectRole('annotator'), validate('param', itemParams), validate('json', z.object({ annotator })), async (c) => {
      const { itemId } = c.req.valid('param');
      await queue.skip(itemId, actingAnnotator(c, c.req.valid('json').annotator));
      return c.json({ itemId, skipped: true });
    })
    .delete('/items/:itemId/lease', requireProjectRole('annotator'), validate('param', itemParams), validate('query', z.object({ annotator })), async (c) => {
      await queue.release(c.req.valid('param').itemId, actingAnnotator(c, c.req.valid('query').annotator));
      return c.body(null, 204);
    });
}

function toQueueItemJson(pick: QueuePick) {
  return {
    id: pick.itemId,
    externalId: pick.externalId,
    ...itemContentJson(pick),
    // Holdout items are shown without the model's guess so their labels stay an unbiased test set.
    suggestion:
      pick.holdout || pick.suggestionLabel === null
        ? null
        : { label: pick.suggestionLabel, confidence: pick.suggestionConfidence, roundId: pick.scoreRoundId },
    reason: pick.reason,
    leaseExpiresAt: pick.leaseExpiresAt.toISOString(),
  };
}
