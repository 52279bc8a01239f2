import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { EventBus, ProjectEvent } from '../services/event-bus.js';
import type { ProjectService } from '../services/project.service.js';
import { requireProjectRole } from './auth.middleware.js';
import { projectParams } from './params.js';
import { validate } from './validate.js';

/** Keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;

/** Server-sent events of one project: round progress, metrics, queue refreshes. */
export function eventRoutes(projects: ProjectService, events: EventBus) {
  return new Hono().get('/:projectId/events', requireProjectRole('engineer'), validate('param', projectParams), async (c) => {
    const { projectId } = c.req.valid('param');
    await projects.require(projectId);
    return streamSSE(c, async (stream) => {
      const pending: ProjectEvent[] = [];
      let wake: (() => void) | undefined;
      let open = true;
      const unsubscribe = events.subscribe(projectId, (event) => {
        pending.push(event);
        wake?.();
      });
      stream.onAbort(() => {
        open = false;
        unsubscribe();
        wake?.();
      });
      await stream.writeSSE({ event: 'ready', data: JSON.stringify({ projectId }) });
      while (open) {
        while (pending.length > 0 && open) {
          const event = pending.shift()!;
          await stream.writeSSE({ event: event.type, data: JSON.stringify(event) });
        }
        const timedOut = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(true), KEEPALIVE_MS);
          wake = () => {
            clearTimeout(timer);
            resolve(false);
          };
        });
        wake = undefined;
        if (timedOut && open) await stream.writeSSE({ event: 'ping', data: '{}' });
      }
    });
  });
}
