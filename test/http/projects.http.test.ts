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
    const res = await t.app.request('/api/projects');
    await t.close();
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('internal');
    expect(body.error.message).toMatch(/^Something went wrong on our side \(request [\w-]+\)$/);
    expect(JSON.stringify(body)).not.toMatch(/relation|does not exist|select|stack/i);
  });
});
