/**
 * The floor of `bench:annotate -- --floor`: the two annotator routes on the real server's HTTP
 * layer (Hono on @hono/node-server, its body reader, JSON in and out) answering at once, with no
 * authentication, validation or database behind them.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { limitBody } from '../../server/http/body-limit.js';

const item = (id: number) => ({
  id,
  externalId: `b${id}`,
  text: `customer message number ${id} about an order that did not arrive`,
  suggestion: { label: 'billing', confidence: 0.5 },
  reason: { strategy: 'margin', score: 0.5, holdout: false },
  leaseExpiresAt: new Date().toISOString(),
});

let next = 0;
const app = new Hono()
  .get('/api/health', (c) => c.json({ status: 'ok' }))
  .post('/api/projects/:projectId/queue/next', limitBody(64 * 1024), async (c) => {
    const { n } = (await c.req.json()) as { n: number };
    return c.json({ items: Array.from({ length: n }, () => item(++next)) });
  })
  .post('/api/items/:itemId/annotations', limitBody(64 * 1024), async (c) => {
    const { label } = (await c.req.json()) as { label: string };
    return c.json({ id: Number(c.req.param('itemId')), itemId: Number(c.req.param('itemId')), label, version: 1 }, 201);
  });

serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' });
