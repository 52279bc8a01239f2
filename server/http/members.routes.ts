import { Hono } from 'hono';
import { z } from 'zod';
import type { MemberRecord, MemberService } from '../services/member.service.js';
import { projectRoles } from '../services/roles.js';
import type { UserService } from '../services/user.service.js';
import { principalOf, requireProjectRole } from './auth.middleware.js';
import { projectParams } from './params.js';
import { validate } from './validate.js';

const role = z.enum(projectRoles as ['lead', 'engineer', 'annotator']);
const memberParams = projectParams.extend({ userId: z.coerce.number().int().positive() });
const email = z.string().trim().min(3).max(254).regex(/^[^\s@]+@[^\s@]+$/, 'email is not an email address');

/** A project's members and invites; leads and admins only. */
export function memberRoutes(members: MemberService, users: UserService) {
  return new Hono()
    .get('/:projectId/members', requireProjectRole('lead'), validate('param', projectParams), async (c) => {
      return c.json({ members: (await members.list(c.req.valid('param').projectId)).map(memberJson) });
    })
    .post(
      '/:projectId/members',
      requireProjectRole('lead'),
      validate('param', projectParams),
      validate('json', z.object({ email, role }).strict()),
      async (c) => {
        const { email: who, role: as } = c.req.valid('json');
        const list = await members.add(c.req.valid('param').projectId, who, as, principalOf(c).email);
        return c.json({ members: list.map(memberJson) }, 201);
      },
    )
    .patch(
      '/:projectId/members/:userId',
      requireProjectRole('lead'),
      validate('param', memberParams),
      validate('json', z.object({ role }).strict()),
      async (c) => {
        const { projectId, userId } = c.req.valid('param');
        const list = await members.changeRole(projectId, userId, c.req.valid('json').role, principalOf(c).email);
        return c.json({ members: list.map(memberJson) });
      },
    )
    .delete('/:projectId/members/:userId', requireProjectRole('lead'), validate('param', memberParams), async (c) => {
      const { projectId, userId } = c.req.valid('param');
      await members.remove(projectId, userId, principalOf(c).email);
      return c.body(null, 204);
    })
    .post(
      '/:projectId/invites',
      requireProjectRole('lead'),
      validate('param', projectParams),
      validate('json', z.object({ role, email: email.optional() }).strict()),
      async (c) => {
        const principal = principalOf(c);
        const invite = await users.invite(c.req.valid('param').projectId, c.req.valid('json'), principal);
        const url = new URL(`/setup?token=${encodeURIComponent(invite.token)}`, c.req.url).toString();
        return c.json({ token: invite.token, url, expiresAt: invite.expiresAt.toISOString() }, 201);
      },
    );
}

function memberJson(m: MemberRecord) {
  return { userId: m.userId, email: m.email, name: m.name, role: m.role, active: m.active, createdAt: m.createdAt.toISOString() };
}
