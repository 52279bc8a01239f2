import http from 'node:http';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server';

/** Request bodies over a real connection, where the server reads JSON straight from Node's request. */
describe('request bodies on the running server', () => {
  let server: TestServer;
  let itemId: number;

  beforeAll(async () => {
    server = await startTestServer();
    const project = (await (await server.api('POST', '/projects', { name: 'Bodies', kind: 'text', labels: [{ name: 'a' }, { name: 'b' }] })).json()) as { id: number };
    const imported = await fetch(`${server.url}/api/projects/${project.id}/items`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${server.admin.token}`, 'content-type': 'application/x-ndjson' },
      body: '{"id":"one","text":"hello"}\n',
    });
    expect(imported.status).toBe(200);
    const next = (await (await server.api('POST', `/projects/${project.id}/queue/next`, { n: 1 })).json()) as { items: Array<{ id: number }> };
    itemId = next.items[0].id;
  }, 60_000);
  afterAll(() => server?.close());

  /** A raw POST, chunked when no length is given, so the size is only known while reading. */
  function post(path: string, body: string, chunked = false): Promise<{ status: number; json: any }> {
    const { hostname, port } = new URL(server.url);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          hostname,
          port,
          path: `/api${path}`,
          method: 'POST',
          headers: {
            Authorization: `Bearer ${server.admin.token}`,
            'content-type': 'application/json',
            ...(!chunked && { 'content-length': Buffer.byteLength(body) }),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode!, json: text ? JSON.parse(text) : null }));
        },
      );
      req.on('error', reject);
      for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.slice(i, i + 64 * 1024));
      req.end();
    });
  }

  it('reads and validates a JSON body, naming the field at fault', async () => {
    const bad = await post('/projects', JSON.stringify({ name: 'No kind', labels: [{ name: 'a' }] }));
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json.error.details)).toContain('kind');
    const good = await post('/projects', JSON.stringify({ name: 'Typed', kind: 'text', labels: [{ name: 'a' }, { name: 'b' }] }));
    expect(good.status).toBe(201);
  });

  it('answers a malformed JSON body with 400 rather than a crash, and stores nothing from it', async () => {
    expect(await post(`/items/${itemId}/annotations`, '{"label": "a"')).toMatchObject({ status: 400, json: { error: { code: 'bad_request' } } });
    const stored = await sql<{ n: number }>`select count(*)::int as n from annotation where item_id = ${itemId}`.execute(server.database.db);
    expect(stored.rows[0].n).toBe(0);
  });

  it('refuses a body over 1 MiB with 413, whether or not its length is announced', async () => {
    const huge = JSON.stringify({ name: 'x'.repeat(1100 * 1024), kind: 'text', labels: [{ name: 'a' }] });
    expect(await post('/projects', huge)).toMatchObject({ status: 413, json: { error: { code: 'payload_too_large' } } });
    expect(await post('/projects', huge, true)).toMatchObject({ status: 413, json: { error: { code: 'payload_too_large' } } });
  });

  it('applies a route’s own smaller limit to a body already read, and still stores a normal label', async () => {
    const oversized = await post(`/items/${itemId}/annotations`, JSON.stringify({ label: 'a', note: 'x'.repeat(70 * 1024) }));
    expect(oversized).toMatchObject({ status: 413, json: { error: { code: 'payload_too_large' } } });
    const stored = await post(`/items/${itemId}/annotations`, JSON.stringify({ label: 'a' }));
    expect(stored).toMatchObject({ status: 201, json: { label: 'a' } });
  });
});
