import { Hono } from 'hono';
import { z } from 'zod';
import { roles } from '../services/roles.js';
import type { UserRecord, UserService } from '../services/user.service.js';
import { principalOf, requireAdmin } from './auth.middleware.js';
import { validate } from './validate.js';

const newUser = z
  .object({
    email: z.string().trim().min(3).max(254).regex(/^[^\s@]+@[^\s@]+$/, 'email is not an email address'),
    name: z.string().trim().max(100).optional(),
    password: z.string().min(1).max(200).nullable(),
    role: z.enum(roles as ['admin', 'lead', 'engineer', 'annotator']).optional(),
    projectId: z.number().int().positive().optional(),
  })
  .strict();

/** Accounts of the installation; admins only. */
export function userRoutes(users: UserService) {
  return new Hono()
    .use(requireAdmin)
    .get('/', async (c) => c.json({ users: (await users.list()).map(userJson) }))
    .post('/', validate('json', newUser), async (c) => c.json(userJson(await users.create(c.req.valid('json'), principalOf(c).email)), 201))
    .patch(
      '/:userId',
      validate('param', z.object({ userId: z.coerce.number().int().positive() })),
      validate('json', z.object({ active: z.boolean() }).strict()),
      async (c) => c.json(userJson(await users.setActive(c.req.valid('param').userId, c.req.valid('json').active, principalOf(c)))),
    );
}

function userJson(u: UserRecord) {
  return { id: u.id, email: u.email, name: u.name, isAdmin: u.isAdmin, active: u.active, createdAt: u.createdAt.toISOString() };
}
