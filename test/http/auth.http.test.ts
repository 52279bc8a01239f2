import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, emailOf, type TestApp } from '../support/test-app.js';

const origin = 'http://localhost';
const password = 'correct horse battery';

describe('sessions, tokens, CSRF and the audit trail', () => {
  let t: TestApp;
  let projectId: number;

  /** Signs in through the API and answers the session cookie (`name=value`) and the raw Set-Cookie. */
  const login = async (email: string, pass = password, cookie?: string) => {
    const res = await t.app.request('/api/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: origin, ...(cookie && { Cookie: cookie }) },
      body: JSON.stringify({ email, password: pass }),
    });
    const setCookie = res.headers.get('set-cookie') ?? '';
    return { status: res.status, cookie: setCookie.split(';')[0], setCookie };
  };
  /** A request with the session cookie, from this site unless told otherwise. */
  const withCookie = (cookie: string, path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
    t.app.request(path, { ...init, headers: { Origin: origin, ...init.headers, Cookie: cookie } });
  const me = async (cookie: string) => (await withCookie(cookie, '/api/auth/me')).status;
  const passwordUser = async (name: string, role?: 'lead' | 'annotator') => {
    await t.services.users.create({ email: emailOf(name), password, role, projectId: role && projectId });
    return emailOf(name);
  };

  beforeAll(async () => {
    t = await createTestApp('pglite', {
      rateLimits: { login: { max: 5, windowMs: 60_000 }, expensive: { max: 1000, windowMs: 60_000 } },
    });
    projectId = (await t.call('POST', '/api/projects', { name: 'Secrets', kind: 'text', labels: [{ name: 'a' }, { name: 'b' }] })).body.id;
    await t.call('POST', `/api/projects/${projectId}/items`, '{"id":"1","text":"one"}\n{"id":"2","text":"two"}\n', 'application/x-ndjson');
  });
  afterAll(() => t.close());

  it('signs in with a session cookie that is HttpOnly and SameSite=Lax, and Secure only over TLS', async () => {
    const email = await passwordUser('cookie');
    const { status, setCookie, cookie } = await login(email);
    expect(status).toBe(200);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).not.toMatch(/Secure/);
    expect(await me(cookie)).toBe(200);
    const tls = await t.app.request('https://localhost/api/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: 'https://localhost' },
      body: JSON.stringify({ email, password }),
    });
    expect(tls.headers.get('set-cookie')).toMatch(/Secure/);
  });

  it('refuses a wrong password and an unknown email with the same answer', async () => {
    const email = await passwordUser('wrong');
    const wrong = await t.anonymous.call('POST', '/api/auth/login', { email, password: 'not the password' });
    const unknown = await t.anonymous.call('POST', '/api/auth/login', { email: 'nobody@example.test', password });
    expect(wrong).toEqual({ status: 401, body: { error: { code: 'unauthenticated', message: 'Wrong email or password' } } });
    expect(unknown).toEqual(wrong);
  });

  it('rotates the session on login and ends it on logout', async () => {
    const email = await passwordUser('rotate');
    const first = await login(email);
    const second = await login(email, password, first.cookie);
    expect(second.cookie).not.toBe(first.cookie);
    expect(await me(first.cookie)).toBe(401);
    expect(await me(second.cookie)).toBe(200);
    expect((await withCookie(second.cookie, '/api/auth/logout', { method: 'POST' })).status).toBe(204);
    expect(await me(second.cookie)).toBe(401);
  });

  it('ends every session when the password changes, except the new one it hands out', async () => {
    const email = await passwordUser('changer');
    const laptop = await login(email);
    const phone = await login(email);
    const res = await withCookie(laptop.cookie, '/api/auth/password', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ currentPassword: password, newPassword: 'an even better passphrase' }),
    });
    expect(res.status).toBe(204);
    const fresh = (res.headers.get('set-cookie') ?? '').split(';')[0];
    expect(await me(laptop.cookie)).toBe(401);
    expect(await me(phone.cookie)).toBe(401);
    expect(await me(fresh)).toBe(200);
    expect((await login(email)).status).toBe(401);
    expect((await login(email, 'an even better passphrase')).status).toBe(200);
  });

  it('locks a deactivated user out at once, sessions and tokens alike', async () => {
    const email = await passwordUser('leaver', 'annotator');
    const session = await login(email);
    const user = (await t.call('GET', '/api/users')).body.users.find((u: { email: string }) => u.email === email);
    const { token } = await t.services.tokens.create({ userId: user.id, email }, { name: 'x', role: 'annotator', expiresInDays: 1 });
    expect(await me(session.cookie)).toBe(200);
    expect((await t.app.request('/api/auth/me', { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await t.call('PATCH', `/api/users/${user.id}`, { active: false })).status).toBe(200);
    expect(await me(session.cookie)).toBe(401);
    expect((await t.app.request('/api/auth/me', { headers: { Authorization: `Bearer ${token}` } })).status).toBe(401);
    expect((await login(email)).status).toBe(401);
  });

  it('applies a lowered role or a removal at once, even right after the member was let in', async () => {
    const engineer = await t.member('demoted', projectId, 'engineer');
    expect((await engineer.call('GET', `/api/projects/${projectId}/rounds`)).status).toBe(200);
    expect((await t.call('PATCH', `/api/projects/${projectId}/members/${engineer.id}`, { role: 'annotator' })).status).toBe(200);
    expect((await engineer.call('GET', `/api/projects/${projectId}/rounds`)).status).toBe(403);
    expect((await engineer.call('GET', `/api/projects/${projectId}/progress`)).status).toBe(200);
    expect((await t.call('DELETE', `/api/projects/${projectId}/members/${engineer.id}`)).status).toBe(204);
    expect((await engineer.call('GET', `/api/projects/${projectId}/progress`)).status).toBe(404);
  });

  it('shows a token once, lists it without the secret, and answers 401 right after it is revoked', async () => {
    const lead = await t.member('token-owner', projectId, 'lead');
    const created = await lead.call('POST', '/api/tokens', { name: 'nightly export', role: 'engineer', expiresInDays: 30 });
    expect(created).toMatchObject({ status: 201, body: { name: 'nightly export', role: 'engineer', token: expect.stringMatching(/^lw_/) } });
    const bearer = { Authorization: `Bearer ${created.body.token}` };
    expect((await t.app.request(`/api/projects/${projectId}/export`, { headers: bearer })).status).toBe(200);
    const listed = await lead.call('GET', '/api/tokens');
    expect(JSON.stringify(listed.body)).not.toContain(created.body.token);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from api_token where token_hash = ${created.body.token}`.execute(t.database.db);
    expect(rows[0].n).toBe(0);

    expect((await lead.call('DELETE', `/api/tokens/${created.body.id}`)).status).toBe(204);
    const after = await t.app.request(`/api/projects/${projectId}/export`, { headers: bearer });
    expect(after.status).toBe(401);
    // Someone else's token cannot be revoked (or even found).
    const other = await t.member('token-other', projectId);
    const { body: mine } = await other.call('POST', '/api/tokens', { name: 'mine', role: 'annotator' });
    expect((await lead.call('DELETE', `/api/tokens/${mine.id}`)).status).toBe(404);
  });

  it('refuses expired tokens, and a token acts with no more than its role', async () => {
    const lead = await t.member('scoped', projectId, 'lead');
    const { body } = await lead.call('POST', '/api/tokens', { name: 'labeling bot', role: 'annotator' });
    const bearer = { Authorization: `Bearer ${body.token}`, 'Content-Type': 'application/json' };
    const patch = await t.app.request(`/api/projects/${projectId}`, { method: 'PATCH', headers: bearer, body: JSON.stringify({ name: 'x' }) });
    expect(patch.status).toBe(403);
    expect((await t.app.request(`/api/projects/${projectId}/progress`, { headers: bearer })).status).toBe(200);
    await sql`update api_token set expires_at = now() - interval '1 second' where token_id = ${body.id}`.execute(t.database.db);
    // Changed behind the server's back: seen once the server's few-second access cache forgets.
    t.services.access.forgetAccess();
    expect((await t.app.request(`/api/projects/${projectId}/progress`, { headers: bearer })).status).toBe(401);
    const escalate = await lead.call('POST', '/api/tokens', { name: 'root', role: 'admin' });
    expect(escalate).toMatchObject({ status: 403 });
  });

  describe('CSRF on cookie-authenticated writes', () => {
    let cookie: string;
    const projectName = async () => (await t.call('GET', `/api/projects/${projectId}`)).body.name;
    beforeAll(async () => {
      cookie = (await login(await passwordUser('csrf-lead', 'lead'))).cookie;
    });

    it.each([
      ['text/plain', '{"name":"pwned"}'],
      ['application/x-www-form-urlencoded', 'name=pwned'],
      ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\npwned\r\n--x--\r\n'],
    ])('refuses a %s body and changes nothing', async (type, body) => {
      const before = await projectName();
      const res = await withCookie(cookie, `/api/projects/${projectId}`, { method: 'PATCH', headers: { 'Content-Type': type }, body });
      expect(res.status).toBe(415);
      expect(await projectName()).toBe(before);
    });

    it('refuses a write from another origin or without an Origin, and accepts JSON from this one', async () => {
      const json = { 'Content-Type': 'application/json' };
      const body = JSON.stringify({ name: 'Renamed by the lead' });
      const foreign = await withCookie(cookie, `/api/projects/${projectId}`, { method: 'PATCH', headers: { ...json, Origin: 'https://evil.example' }, body });
      expect(foreign.status).toBe(403);
      const none = await t.app.request(`/api/projects/${projectId}`, { method: 'PATCH', headers: { ...json, Cookie: cookie }, body });
      expect(none.status).toBe(403);
      expect(await projectName()).not.toBe('Renamed by the lead');
      const same = await withCookie(cookie, `/api/projects/${projectId}`, { method: 'PATCH', headers: json, body });
      expect(same.status).toBe(200);
      expect(await projectName()).toBe('Renamed by the lead');
    });
  });

  describe('mass assignment', () => {
    it('records the signed-in annotator, ignores extra fields, and refuses a body naming someone else', async () => {
      const ann = await t.member('honest', projectId);
      const [item] = (await ann.call('POST', `/api/projects/${projectId}/queue/next`, { n: 1 })).body.items;
      const forged = await ann.call('POST', `/api/items/${item.id}/annotations`, { label: 'a', annotator: emailOf('admin') });
      expect(forged).toMatchObject({ status: 403, body: { error: { code: 'annotator_mismatch' } } });
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from annotation where item_id = ${item.id}`.execute(t.database.db);
      expect(rows[0].n).toBe(0);
      const extra = await ann.call('POST', `/api/items/${item.id}/annotations`, { label: 'a', role: 'admin', source: 'import', version: 9 });
      expect(extra).toMatchObject({ status: 201, body: { annotator: ann.email, source: 'human', version: 1 } });
      const skipAsOther = await ann.call('POST', `/api/items/${item.id}/skip`, { annotator: 'someone' });
      expect(skipAsOther.status).toBe(403);
    });

    it('refuses unknown fields where they could grant rights', async () => {
      const lead = await t.member('mass-lead', projectId, 'lead');
      const invite = await lead.call('POST', `/api/projects/${projectId}/invites`, { role: 'annotator', isAdmin: true });
      expect(invite.status).toBe(400);
      const { body: ok } = await lead.call('POST', `/api/projects/${projectId}/invites`, { role: 'annotator' });
      const accept = await t.anonymous.call('POST', '/api/auth/accept', { token: ok.token, email: 'new@example.test', name: 'N', password, isAdmin: true });
      expect(accept.status).toBe(400);
      const memberRole = await lead.call('PATCH', `/api/projects/${projectId}/members/${lead.id}`, { role: 'lead', isAdmin: true });
      expect(memberRole.status).toBe(400);
      const users = (await t.call('GET', '/api/users')).body.users;
      expect(users.filter((u: { isAdmin: boolean }) => u.isAdmin).map((u: { email: string }) => u.email)).toEqual([emailOf('admin')]);
    });
  });

  it('accepts an invite once, before it expires, into the project with its role', async () => {
    const lead = await t.member('inviter', projectId, 'lead');
    const { body: invite } = await lead.call('POST', `/api/projects/${projectId}/invites`, { role: 'engineer' });
    expect(invite.url).toMatch(/\/setup\?token=lwi_/);
    expect((await t.anonymous.call('GET', `/api/auth/invite?token=${invite.token}`)).body).toMatchObject({ kind: 'invite', projectName: expect.any(String), role: 'engineer' });
    const accepted = await t.anonymous.call('POST', '/api/auth/accept', { token: invite.token, email: 'Invited@Example.test', name: 'Ivy', password });
    expect(accepted).toMatchObject({ status: 201, body: { user: { email: 'invited@example.test', isAdmin: false } } });
    const again = await t.anonymous.call('POST', '/api/auth/accept', { token: invite.token, email: 'second@example.test', name: 'S', password });
    expect(again.status).toBe(404);
    const members = (await lead.call('GET', `/api/projects/${projectId}/members`)).body.members;
    expect(members).toContainEqual(expect.objectContaining({ email: 'invited@example.test', role: 'engineer' }));

    const { body: late } = await lead.call('POST', `/api/projects/${projectId}/invites`, { role: 'annotator' });
    await sql`update invite set expires_at = now() - interval '1 second' where used_at is null`.execute(t.database.db);
    const expired = await t.anonymous.call('POST', '/api/auth/accept', { token: late.token, email: 'late@example.test', name: 'L', password });
    expect(expired.status).toBe(404);
  });

  it('creates the first admin with the setup link, which works only on an installation without users', async () => {
    const fresh = await createTestApp('pglite');
    try {
      await sql`delete from app_user`.execute(fresh.database.db);
      const link = await fresh.services.users.createSetupLink();
      const second = await fresh.services.users.createSetupLink();
      const res = await fresh.anonymous.call('POST', '/api/auth/accept', { token: link!.token, email: 'root@example.test', name: 'Root', password });
      expect(res).toMatchObject({ status: 201, body: { user: { email: 'root@example.test', isAdmin: true } } });
      expect(await fresh.services.users.createSetupLink()).toBeNull();
      const takeover = await fresh.anonymous.call('POST', '/api/auth/accept', { token: second!.token, email: 'evil@example.test', name: 'E', password });
      expect(takeover.status).toBe(404);
    } finally {
      await fresh.close();
    }
  });

  it('limits login attempts with 429 and Retry-After', async () => {
    const email = await passwordUser('hammered');
    const answers: number[] = [];
    for (let i = 0; i < 6; i++) answers.push((await t.anonymous.call('POST', '/api/auth/login', { email, password: 'guess' + i })).status);
    expect(answers).toEqual([401, 401, 401, 401, 401, 429]);
    const limited = await t.anonymous.request('/api/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('refuses an oversized body with 413 before reading it', async () => {
    const res = await t.call('PATCH', `/api/projects/${projectId}`, { guidelines: 'x'.repeat(2 * 1024 * 1024) });
    expect(res).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
  });

  it('sends security headers on every answer', async () => {
    for (const res of [await t.request('/api/health'), await t.anonymous.request('/api/projects')]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('same-origin');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    }
  });

  it('gives API answers, which are never rendered, a policy that allows nothing, and pages the web app\'s own', async () => {
    const api = await t.request('/api/health');
    expect(api.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    const page = await t.anonymous.request('/projects/1');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('keeps an append-only audit trail of settings, labels, members and tokens', async () => {
    const lead = await t.member('auditor', projectId, 'lead');
    await lead.call('PATCH', `/api/projects/${projectId}`, { guidelines: 'Be careful' });
    const ann = await t.member('audited', projectId);
    const [item] = (await ann.call('POST', `/api/projects/${projectId}/queue/next`, { n: 1 })).body.items;
    await ann.call('POST', `/api/items/${item.id}/annotations`, { label: 'a' });
    await ann.call('POST', `/api/items/${item.id}/annotations`, { label: 'b' });

    const { body } = await lead.call('GET', `/api/projects/${projectId}/audit?limit=500`);
    const settings = body.events.find((e: { entity: string; actor: string }) => e.entity === 'project' && e.actor === lead.email);
    expect(settings).toMatchObject({ action: 'change', before: { guidelines: expect.any(String) }, after: { guidelines: 'Be careful' } });
    const labels = body.events.filter((e: { entity: string; actor: string }) => e.entity === 'annotation' && e.actor === ann.email);
    expect(labels.map((e: { before: unknown; after: unknown }) => [e.before, e.after])).toEqual([
      [{ label: 'a', version: 1 }, { itemId: item.id, label: 'b', version: 2, source: 'human' }],
      [null, { itemId: item.id, label: 'a', version: 1, source: 'human' }],
    ]);
    expect(body.events.some((e: { entity: string }) => e.entity === 'project_member')).toBe(true);
    expect(JSON.stringify(body)).not.toMatch(/token_hash|password_hash/);

    const byActor = await lead.call('GET', `/api/projects/${projectId}/audit?actor=${encodeURIComponent(ann.email)}`);
    expect(byActor.body.events.every((e: { actor: string }) => e.actor === ann.email)).toBe(true);
    const csv = await lead.request(`/api/projects/${projectId}/audit?format=csv`);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect((await csv.text()).split('\n')[0]).toBe('id,at,actor,project_id,action,entity,entity_id,before,after');
    expect((await ann.call('GET', `/api/projects/${projectId}/audit`)).status).toBe(403);

    await expect(sql`delete from audit_event`.execute(t.database.db)).rejects.toThrow(/never changed or deleted/);
    await expect(sql`update annotation set label_id = label_id`.execute(t.database.db)).rejects.toThrow(/never changed or deleted/);
    await expect(sql`delete from annotation`.execute(t.database.db)).rejects.toThrow(/never changed or deleted/);
  });

  it("hides other annotators' labels from an annotator unless the project allows it", async () => {
    await t.call('POST', `/api/projects/${projectId}/items`, '{"id":"s1","text":"x"}\n{"id":"s2","text":"y"}\n', 'application/x-ndjson');
    const [mine, theirs] = [await t.member('seer', projectId), await t.member('other-seer', projectId)];
    const [a] = (await mine.call('POST', `/api/projects/${projectId}/queue/next`, { n: 1 })).body.items;
    await mine.call('POST', `/api/items/${a.id}/annotations`, { label: 'a' });
    const [b] = (await theirs.call('POST', `/api/projects/${projectId}/queue/next`, { n: 1 })).body.items;
    await theirs.call('POST', `/api/items/${b.id}/annotations`, { label: 'b' });
    const labelOf = async (id: number) =>
      (await mine.call('GET', `/api/projects/${projectId}/items?limit=500`)).body.items.find((i: { id: number }) => i.id === id);
    expect(await labelOf(a.id)).toMatchObject({ label: 'a', annotation: { annotator: mine.email } });
    expect(await labelOf(b.id)).toMatchObject({ label: null, annotation: null });
    expect((await mine.call('GET', `/api/projects/${projectId}/items?label=b`)).status).toBe(403);
    await t.call('PATCH', `/api/projects/${projectId}`, { annotatorsSeeAllLabels: true });
    expect(await labelOf(b.id)).toMatchObject({ label: 'b', annotation: { annotator: theirs.email } });
    await t.call('PATCH', `/api/projects/${projectId}`, { annotatorsSeeAllLabels: false });
  });
});
