import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, textProject } from '../support/test-app.js';
import { testDatabaseKinds } from '../support/test-db.js';

describe.each(testDatabaseKinds())('projects API on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(() => t.close());

  it('creates a project and answers it with its labels, hotkeys and empty counts', async () => {
    const { status, body } = await t.call('POST', '/api/projects', textProject);
    expect(status).toBe(201);
    expect(body).toMatchObject({
      id: expect.any(Number),
      name: 'Support tickets',
      kind: 'text',
      guidelines: '# Route tickets',
      labels: [
        { id: expect.any(Number), name: 'billing', hotkey: 'b' },
        { id: expect.any(Number), name: 'bug', hotkey: null },
        { id: expect.any(Number), name: 'other', hotkey: 'o' },
      ],
      counts: { items: 0, labeled: 0 },
    });
    const fetched = await t.call('GET', `/api/projects/${body.id}`);
    expect(fetched.body).toEqual(body);
    const list = await t.call('GET', '/api/projects');
    expect(list.body.projects.map((p: { id: number }) => p.id)).toContain(body.id);
  });

  it.each([
    [{ ...textProject, labels: [{ name: 'only' }] }, 'labels', 'a project needs at least 2 labels'],
    [{ ...textProject, labels: Array.from({ length: 101 }, (_, i) => ({ name: `l${i}` })) }, 'labels', 'a project can have at most 100 labels'],
    [{ ...textProject, labels: [{ name: 'a' }, { name: 'a' }] }, 'labels.1.name', 'label "a" appears twice'],
    [{ ...textProject, labels: [{ name: 'a', hotkey: 'x' }, { name: 'b', hotkey: 'X' }] }, 'labels.1.hotkey', 'hotkey "X" is used twice'],
    [{ ...textProject, labels: [{ name: 'a', hotkey: '1' }, { name: 'b' }] }, 'labels.0.hotkey', 'digits, S, ? and space are reserved on the labeling page'],
    [{ ...textProject, kind: 'audio' }, 'kind', expect.any(String)],
    [{ ...textProject, name: '  ' }, 'name', 'name is required'],
  ])('rejects an invalid project (%#) and says which field is wrong', async (payload, path, message) => {
    const before = (await t.call('GET', '/api/projects')).body.projects.length;
    const { status, body } = await t.call('POST', '/api/projects', payload);
    expect(status).toBe(400);
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.details).toContainEqual({ path, message });
    expect((await t.call('GET', '/api/projects')).body.projects).toHaveLength(before);
  });

  it('answers malformed JSON with a 400 error object, not a crash', async () => {
    const { status, body } = await t.call('POST', '/api/projects', '{"name":', 'application/json');
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
  });

  it('answers an unknown project with 404 and an unknown route with a JSON 404', async () => {
    expect(await t.call('GET', '/api/projects/999999')).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(await t.call('GET', '/api/nothing-here')).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });

  it('reports health with the database kind', async () => {
    const { body } = await t.call('GET', '/api/health');
    expect(body).toEqual({ status: 'ok', database: kind, tfjsBackend: 'cpu', version: 'test' });
  });
});

describe('unexpected failures', () => {
  it('answers a generic 500 with a request id and leaks no internals', async () => {
    const t = await createTestApp('pglite');
    await sql`drop table annotation, item, label, project cascade`.execute(t.database.db);
    const res = await t.request('/api/projects');
    await t.close();
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('internal');
    expect(body.error.message).toMatch(/^Something went wrong on our side \(request [\w-]+\)$/);
    expect(body.error.message).toContain(`(request ${res.headers.get('x-request-id')})`);
    expect(JSON.stringify(body)).not.toMatch(/relation|does not exist|select|stack/i);
  });
});

describe.each(testDatabaseKinds())('project settings on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(() => t.close());

  const importItems = (projectId: number, n: number) =>
    t.call(
      'POST',
      `/api/projects/${projectId}/items`,
      Array.from({ length: n }, (_, i) => JSON.stringify({ id: `s${i}`, text: `item ${i}` })).join('\n'),
      'application/x-ndjson',
    );
  const holdoutCount = async (projectId: number) =>
    (await sql<{ n: number }>`select count(*)::int as n from item where project_id = ${projectId} and holdout`.execute(t.database.db))
      .rows[0].n;

  it('creates a project with queue settings and answers them with the project', async () => {
    const { status, body } = await t.call('POST', '/api/projects', { ...textProject, holdoutShare: 0.2, overlap: 3, leaseSeconds: 120 });
    expect(status).toBe(201);
    expect(body).toMatchObject({ holdoutShare: 0.2, overlap: 3, leaseSeconds: 120 });
    const defaults = await t.call('POST', '/api/projects', textProject);
    expect(defaults.body).toMatchObject({ holdoutShare: 0.1, overlap: 1, leaseSeconds: 300 });
  });

  it('changes name, guidelines and the holdout share, and re-draws the holdout among unlabeled items', async () => {
    const { body: project } = await t.call('POST', '/api/projects', textProject);
    await importItems(project.id, 200);
    const { status, body } = await t.call('PATCH', `/api/projects/${project.id}`, { name: 'Renamed', guidelines: '## New', holdoutShare: 0 });
    expect(status).toBe(200);
    expect(body).toMatchObject({ name: 'Renamed', guidelines: '## New', holdoutShare: 0 });
    expect(await holdoutCount(project.id)).toBe(0);
    await t.call('PATCH', `/api/projects/${project.id}`, { holdoutShare: 0.5 });
    expect(await holdoutCount(project.id)).toBeGreaterThan(60);
  });

  it('gives an item to more annotators after the overlap is raised', async () => {
    const { body: project } = await t.call('POST', '/api/projects', { ...textProject, holdoutShare: 0 });
    await importItems(project.id, 1);
    const a = await t.member('a', project.id);
    const b = await t.member('b', project.id);
    const [item] = (await a.call('POST', `/api/projects/${project.id}/queue/next`, { n: 1 })).body.items;
    const headers = { 'Content-Type': 'application/json', 'Idempotency-Key': `settings-${kind}-1` };
    await a.request(`/api/items/${item.id}/annotations`, { method: 'POST', headers, body: JSON.stringify({ label: 'bug' }) });
    expect((await b.call('POST', `/api/projects/${project.id}/queue/next`, {})).body.items).toEqual([]);
    await t.call('PATCH', `/api/projects/${project.id}`, { overlap: 2 });
    const forB = (await b.call('POST', `/api/projects/${project.id}/queue/next`, {})).body.items;
    expect(forB.map((i: { id: number }) => i.id)).toEqual([item.id]);
  });

  it('rejects out-of-range settings and fields it does not know, changing nothing', async () => {
    const { body: project } = await t.call('POST', '/api/projects', textProject);
    for (const patch of [{ holdoutShare: 0.9 }, { overlap: 0 }, { leaseSeconds: 5 }, { kind: 'image' }, { id: 99 }]) {
      const res = await t.call('PATCH', `/api/projects/${project.id}`, patch);
      expect(res).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });
    }
    expect((await t.call('GET', `/api/projects/${project.id}`)).body).toEqual(project);
    expect((await t.call('PATCH', '/api/projects/999999', { name: 'x' })).status).toBe(404);
  });
});
