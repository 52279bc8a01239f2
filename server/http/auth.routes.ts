import type { Context } from 'hono';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import type { AuthService, NewSession } from '../services/auth.service.js';
import type { UserService } from '../services/user.service.js';
import { principalOf, requireUser, sessionCookie } from './auth.middleware.js';
import { clientAddress } from './rate-limit.js';
import { validate } from './validate.js';

const email = z.string().trim().min(3).max(254).regex(/^[^\s@]+@[^\s@]+$/, 'email is not an email address');
const password = z.string().min(1).max(200);

const login = z.object({ email, password }).strict();
const passwordChange = z.object({ currentPassword: password, newPassword: password }).strict();
const accept = z.object({ token: z.string().min(10).max(200), email, name: z.string().trim().min(1).max(100), password }).strict();
const inviteQuery = z.object({ token: z.string().min(10).max(200) });

/** Sign-in, sign-out, the signed-in user, and accepting an invite or the first-run setup link. */
export function authRoutes(auth: AuthService, users: UserService) {
  return new Hono()
    .post('/login', validate('json', login), async (c) => {
      const body = c.req.valid('json');
      // Counted before the password is checked, so guessing costs attempts whether right or wrong.
      c.get('rateLimiters').login.hit(`${clientAddress(c)}:${body.email.toLowerCase()}`);
      const session = await auth.login(body.email, body.password, getCookie(c, sessionCookie));
      setSessionCookie(c, session);
      return c.json({ user: userJson(session.user) });
    })
    .post('/logout', async (c) => {
      const sessionId = getCookie(c, sessionCookie);
      if (sessionId) await auth.logout(sessionId);
      deleteCookie(c, sessionCookie, { path: '/', secure: isTls(c) });
      return c.body(null, 204);
    })
    .get('/me', requireUser, async (c) => {
      const principal = principalOf(c);
      return c.json({
        user: { id: principal.userId, email: principal.email, name: principal.name, isAdmin: principal.userIsAdmin },
        via: principal.via,
        tokenRole: principal.tokenRole,
        memberships: await auth.memberships(principal),
      });
    })
    .post('/password', requireUser, validate('json', passwordChange), async (c) => {
      const body = c.req.valid('json');
      const session = await auth.changePassword(principalOf(c), body.currentPassword, body.newPassword);
      setSessionCookie(c, session);
      return c.body(null, 204);
    })
    .get('/invite', validate('query', inviteQuery), async (c) => {
      const invite = await users.describeInvite(c.req.valid('query').token);
      return c.json({ ...invite, expiresAt: invite.expiresAt.toISOString() });
    })
    .post('/accept', validate('json', accept), async (c) => {
      c.get('rateLimiters').login.hit(`${clientAddress(c)}:accept`);
      const body = c.req.valid('json');
      const user = await users.acceptInvite(body.token, body);
      const session = await auth.startSession(user);
      setSessionCookie(c, session);
      return c.json({ user: userJson(user) }, 201);
    });
}

function userJson(user: { id: number; email: string; name: string; isAdmin: boolean }) {
  return { id: user.id, email: user.email, name: user.name, isAdmin: user.isAdmin };
}

function isTls(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}

function setSessionCookie(c: Context, session: NewSession): void {
  setCookie(c, sessionCookie, session.sessionId, {
    httpOnly: true,
    secure: isTls(c),
    sameSite: 'Lax',
    path: '/',
    expires: session.expiresAt,
  });
}
