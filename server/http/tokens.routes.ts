import { Hono } from 'hono';
import { z } from 'zod';
import { type ApiTokenRecord, type ApiTokenService, maxTokenDays } from '../services/api-token.service.js';
import { roles } from '../services/roles.js';
import { principalOf, requireUser } from './auth.middleware.js';
import { validate } from './validate.js';

const newToken = z
  .object({
    name: z.string().trim().min(1, 'name is required').max(100),
    role: z.enum(roles as ['admin', 'lead', 'engineer', 'annotator']),
    expiresInDays: z.number().int().min(1).max(maxTokenDays).default(90),
  })
  .strict();

/** The signed-in user's own API tokens. */
export function tokenRoutes(tokens: ApiTokenService) {
  return new Hono()
    .use(requireUser)
    .post('/', validate('json', newToken), async (c) => {
      const { token, record } = await tokens.create(principalOf(c), c.req.valid('json'));
      // The only time the secret is shown.
      return c.json({ ...tokenJson(record), token }, 201);
    })
    .get('/', async (c) => c.json({ tokens: (await tokens.list(principalOf(c).userId)).map(tokenJson) }))
    .delete('/:tokenId', validate('param', z.object({ tokenId: z.coerce.number().int().positive() })), async (c) => {
      await tokens.revoke(principalOf(c), c.req.valid('param').tokenId);
      return c.body(null, 204);
    });
}

function tokenJson(t: ApiTokenRecord) {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    createdAt: t.createdAt.toISOString(),
    expiresAt: t.expiresAt.toISOString(),
    revokedAt: t.revokedAt?.toISOString() ?? null,
    lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
  };
}
