/**
 * The role × route matrix: every API route, asked by each role and by outsiders, answers exactly
 * what the access rules say, and a refused write changes nothing in the database.
 *
 * A new route is one row: `access` is the least role that may call it ('annotator' < 'engineer' <
 * 'lead' < 'admin' within a project; 'admin' alone for installation-wide routes; 'user' for any
 * signed-in user; 'public' for anyone), `ok` the status it answers when allowed.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type Caller, type TestApp, type TestUser } from '../support/test-app.js';

type Access = 'public' | 'user' | 'admin' | 'lead' | 'engineer' | 'annotator';
type Actor = 'admin' | 'lead' | 'engineer' | 'annotator' | 'outsider' | 'anonymous';

interface Ctx {
  projectId: number;
  /** A new unlabeled item of the project. */
  freshItem(): Promise<number>;
  /** The id of a user who is a member of the project (an annotator). */
  freshMember(): Promise<number>;
  /** The id of a user who belongs to no project. */
  freshUser(): Promise<{ id: number; email: string }>;
  /** A queued retraining round of the project. */
  queuedRound(): Promise<number>;
  /** A round that has finished training. */
  trainedRound(): Promise<number>;
}

interface Row {
  route: string;
  access: Access;
  ok: number;
  /** Fills in path parameters and query; defaults to `route`'s path with the project id. */
  path?: (ctx: Ctx) => Promise<string> | string;
  body?: (ctx: Ctx) => Promise<unknown> | unknown;
  contentType?: string;
}

let seq = 0;
const rows: Row[] = [
  { route: 'GET /api/health', access: 'public', ok: 200 },
  { route: 'GET /api/auth/me', access: 'user', ok: 200 },
  { route: 'GET /api/projects', access: 'user', ok: 200 },
  { route: 'POST /api/projects', access: 'admin', ok: 201, body: () => ({ name: 'New', kind: 'text', labels: [{ name: 'a' }, { name: 'b' }] }) },
  { route: 'GET /api/projects/:projectId', access: 'annotator', ok: 200 },
  { route: 'PATCH /api/projects/:projectId', access: 'lead', ok: 200, body: () => ({ guidelines: `changed ${++seq}` }) },
  {
    route: 'POST /api/projects/:projectId/items',
    access: 'engineer',
    ok: 200,
    body: () => `{"id":"imported-${++seq}","image":"red.png"}\n`,
    contentType: 'application/x-ndjson',
  },
  { route: 'GET /api/projects/:projectId/items', access: 'annotator', ok: 200 },
  { route: 'GET /api/projects/:projectId/export', access: 'engineer', ok: 200 },
  { route: 'POST /api/projects/:projectId/queue/next', access: 'annotator', ok: 200, body: () => ({ n: 1 }) },
  { route: 'POST /api/projects/:projectId/leases/renew', access: 'annotator', ok: 200, body: () => ({}) },
  { route: 'GET /api/projects/:projectId/progress', access: 'annotator', ok: 200 },
  {
    route: 'POST /api/items/:itemId/annotations',
    access: 'annotator',
    ok: 201,
    path: async (ctx) => `/api/items/${await ctx.freshItem()}/annotations`,
    body: () => ({ label: 'cat' }),
  },
  { route: 'POST /api/items/:itemId/skip', access: 'annotator', ok: 200, path: async (ctx) => `/api/items/${await ctx.freshItem()}/skip`, body: () => ({}) },
  { route: 'DELETE /api/items/:itemId/lease', access: 'annotator', ok: 204, path: async (ctx) => `/api/items/${await ctx.freshItem()}/lease` },
  { route: 'GET /api/items/:itemId/image', access: 'annotator', ok: 200, path: async (ctx) => `/api/items/${await ctx.freshItem()}/image` },
  { route: 'GET /api/projects/:projectId/members', access: 'lead', ok: 200 },
  {
    route: 'POST /api/projects/:projectId/members',
    access: 'lead',
    ok: 201,
    body: async (ctx) => ({ email: (await ctx.freshUser()).email, role: 'annotator' }),
  },
  {
    route: 'PATCH /api/projects/:projectId/members/:userId',
    access: 'lead',
    ok: 200,
    path: async (ctx) => `/api/projects/${ctx.projectId}/members/${await ctx.freshMember()}`,
    body: () => ({ role: 'engineer' }),
  },
  {
    route: 'DELETE /api/projects/:projectId/members/:userId',
    access: 'lead',
    ok: 204,
    path: async (ctx) => `/api/projects/${ctx.projectId}/members/${await ctx.freshMember()}`,
  },
  { route: 'POST /api/projects/:projectId/invites', access: 'lead', ok: 201, body: () => ({ role: 'annotator' }) },
  { route: 'GET /api/projects/:projectId/audit', access: 'lead', ok: 200 },
  { route: 'GET /api/audit', access: 'admin', ok: 200 },
  { route: 'GET /api/users', access: 'admin', ok: 200 },
  { route: 'POST /api/users', access: 'admin', ok: 201, body: () => ({ email: `made-${++seq}@example.test`, password: null }) },
  {
    route: 'PATCH /api/users/:userId',
    access: 'admin',
    ok: 200,
    path: async (ctx) => `/api/users/${(await ctx.freshUser()).id}`,
    body: () => ({ active: false }),
  },
  { route: 'POST /api/projects/:projectId/rounds', access: 'engineer', ok: 202, body: () => ({}) },
  { route: 'GET /api/projects/:projectId/rounds', access: 'engineer', ok: 200 },
  {
    route: 'GET /api/projects/:projectId/rounds/:roundId',
    access: 'engineer',
    ok: 200,
    path: async (ctx) => `/api/projects/${ctx.projectId}/rounds/${await ctx.trainedRound()}`,
  },
  {
    route: 'POST /api/projects/:projectId/rounds/:roundId/promote',
    access: 'engineer',
    ok: 200,
    path: async (ctx) => `/api/projects/${ctx.projectId}/rounds/${await ctx.trainedRound()}/promote`,
  },
  {
    route: 'POST /api/projects/:projectId/rounds/:roundId/cancel',
    access: 'engineer',
    ok: 200,
    path: async (ctx) => `/api/projects/${ctx.projectId}/rounds/${await ctx.queuedRound()}/cancel`,
  },
  { route: 'GET /api/projects/:projectId/dashboard', access: 'engineer', ok: 200 },
  { route: 'GET /api/tokens', access: 'user', ok: 200 },
  { route: 'POST /api/tokens', access: 'user', ok: 201, body: () => ({ name: 'script', role: 'annotator' }) },
];

/** Routes whose rules need more than one request to show; each is specified in auth.http.test.ts. */
const coveredElsewhere = [
  'POST /api/auth/login',
  'POST /api/auth/logout',
  'POST /api/auth/password',
  'GET /api/auth/invite',
  'POST /api/auth/accept',
  'DELETE /api/tokens/:tokenId',
  // An event stream never ends; its access is checked below.
  'GET /api/projects/:projectId/events',
];

const rank = { annotator: 1, engineer: 2, lead: 3 } as const;

function expectedStatus(row: Row, actor: Actor): number {
  if (row.access === 'public') return row.ok;
  if (actor === 'anonymous') return 401;
  if (row.access === 'user') return row.ok;
  if (row.access === 'admin') return actor === 'admin' ? row.ok : 403;
  if (actor === 'admin') return row.ok;
  if (actor === 'outsider') return 404;
  return rank[actor] >= rank[row.access] ? row.ok : 403;
}

/** A digest of every table a request could change (token use times aside). */
async function fingerprint(t: TestApp): Promise<string> {
  const tables = ['project', 'label', 'item', 'annotation', 'skip', 'lease', 'project_member', 'invite', 'app_user', 'session', 'audit_event', 'round', 'job'];
  const parts: string[] = [];
  for (const table of tables) {
    const { rows: r } = await sql<{ d: string }>`select md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as d
      from ${sql.table(table)} x`.execute(t.database.db);
    parts.push(r[0].d);
  }
  const { rows: tokens } = await sql<{ d: string }>`select md5(coalesce(string_agg(token_id || ':' || coalesce(revoked_at::text, ''), '|' order by token_id), '')) as d
    from api_token`.execute(t.database.db);
  return [...parts, tokens[0].d].join(',');
}

describe('who may call which route', () => {
  let t: TestApp;
  let ctx: Ctx;
  const callers = {} as Record<Actor, Caller>;

  let trained: Promise<number> | undefined;

  beforeAll(async () => {
    t = await createTestApp('pglite');
    const project = await t.call('POST', '/api/projects', { name: 'Matrix', kind: 'image', labels: [{ name: 'cat' }, { name: 'dog' }] });
    const projectId: number = project.body.id;
    let n = 0;
    ctx = {
      projectId,
      async freshItem() {
        const id = `fresh-${++n}`;
        await t.call('POST', `/api/projects/${projectId}/items`, `{"id":"${id}","image":"red.png"}\n`, 'application/x-ndjson');
        const { rows: r } = await sql<{ item_id: number }>`select item_id from item where project_id = ${projectId} and external_id = ${id}`.execute(t.database.db);
        return r[0].item_id;
      },
      async freshMember() {
        const user: TestUser = await t.member(`member-${++n}`, projectId, 'annotator');
        return user.id;
      },
      async freshUser() {
        const user = await t.user(`loner-${++n}`);
        return { id: user.id, email: user.email };
      },
      async queuedRound() {
        return (await t.services.rounds.launch(projectId, {}, 'manual')).round.id;
      },
      async trainedRound() {
        trained ??= (async () => {
          const id = await this.queuedRound();
          await t.jobs.runOnce();
          return id;
        })();
        return trained;
      },
    };
    callers.admin = t.admin;
    callers.lead = await t.member('lead', projectId, 'lead');
    callers.engineer = await t.member('engineer', projectId, 'engineer');
    callers.annotator = await t.member('annotator', projectId, 'annotator');
    callers.outsider = await t.user('outsider');
    callers.anonymous = t.anonymous;
  });
  afterAll(() => t.close());

  const actors: Actor[] = ['admin', 'lead', 'engineer', 'annotator', 'outsider', 'anonymous'];
  const cases = rows.flatMap((row) => actors.map((actor) => ({ row, actor, status: expectedStatus(row, actor) })));

  it.each(cases)('$row.route as $actor answers $status', async ({ row, actor, status }) => {
    const [method, pattern] = row.route.split(' ');
    const path = row.path ? await row.path(ctx) : pattern.replace(':projectId', String(ctx.projectId));
    const body = row.body ? await row.body(ctx) : undefined;
    const before = status === row.ok ? '' : await fingerprint(t);
    const res = await callers[actor].call(method, path, body, row.contentType);
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    if (status !== row.ok) {
      expect(res.body.error.code).toEqual(expect.any(String));
      expect(await fingerprint(t)).toBe(before);
    }
  });

  it('has a row for every API route the app serves', () => {
    const served = t.app.routes.filter((r) => r.method !== 'ALL' && r.path.startsWith('/api/')).map((r) => `${r.method} ${r.path}`);
    const listed = new Set([...rows.map((r) => r.route), ...coveredElsewhere]);
    expect(served.filter((route) => !listed.has(route))).toEqual([]);
  });

  it('streams project events to engineers and above only', async () => {
    const status = async (caller: Caller) => {
      const res = await caller.request(`/api/projects/${ctx.projectId}/events`);
      await res.body?.cancel();
      return res.status;
    };
    expect(await status(callers.engineer)).toBe(200);
    expect(await status(callers.lead)).toBe(200);
    expect(await status(callers.annotator)).toBe(403);
    expect(await status(callers.outsider)).toBe(404);
    expect(await status(callers.anonymous)).toBe(401);
  });

  it('answers 404 to a non-member for a project that does not exist, exactly as for one that does', async () => {
    const missing = await callers.outsider.call('GET', '/api/projects/999999');
    const existing = await callers.outsider.call('GET', `/api/projects/${ctx.projectId}`);
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(existing).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });

  it('lists only the projects a user is a member of', async () => {
    const other = await t.call('POST', '/api/projects', { name: 'Other', kind: 'text', labels: [{ name: 'a' }, { name: 'b' }] });
    const ids = async (caller: Caller) => (await caller.call('GET', '/api/projects')).body.projects.map((p: { id: number }) => p.id);
    expect(await ids(callers.annotator)).toEqual([ctx.projectId]);
    expect(await ids(callers.outsider)).toEqual([]);
    expect(await ids(callers.admin)).toEqual(expect.arrayContaining([ctx.projectId, other.body.id]));
  });
});
