import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, textProject } from '../support/test-app.js';
import { testDatabaseKinds } from '../support/test-db.js';

const ndjson = 'application/x-ndjson';

describe.each(testDatabaseKinds())('item import, browsing and export on %s', (kind) => {
  let t: TestApp;
  let projectId: number;
  const items = (query = '') => t.call('GET', `/api/projects/${projectId}/items${query}`);

  beforeAll(async () => {
    t = await createTestApp(kind);
    projectId = (await t.call('POST', '/api/projects', textProject)).body.id;
  });
  afterAll(() => t.close());

  it('imports JSON Lines, stores every good row, and lists each bad one with line, field and reason', async () => {
    const file = [
      '{"id":"t1","text":"I was charged twice","label":"billing"}',
      '{"id":"t2","text":"The app crashes on start"}',
      '{"id":"t3","text":"","label":"bug"}',
      '{"id":"t4","text":"Refund please","label":"refunds"}',
      'not json',
      '{"id":"t5","text":"=HYPERLINK(\\"http://x\\")","label":"other","annotator":"maria"}',
    ].join('\n');
    const { status, body } = await t.call('POST', `/api/projects/${projectId}/items`, file, ndjson);
    expect(status).toBe(200);
    expect(body).toEqual({
      imported: 3,
      duplicates: 0,
      failed: 3,
      errorsTruncated: false,
      errors: [
        { line: 3, field: 'text', message: 'text is empty' },
        { line: 4, field: 'label', message: 'label "refunds" is not in the project\'s label set' },
        { line: 5, field: null, message: expect.stringContaining('not valid JSON') },
      ],
    });
    expect((await t.call('GET', `/api/projects/${projectId}`)).body.counts).toEqual({ items: 3, labeled: 2 });
  });

  it('adds nothing when the same file is imported again', async () => {
    const file = '{"id":"t1","text":"I was charged twice","label":"billing"}\n{"id":"t2","text":"The app crashes on start"}\n';
    const { body } = await t.call('POST', `/api/projects/${projectId}/items`, file, ndjson);
    expect(body).toMatchObject({ imported: 0, duplicates: 2, failed: 0 });
    expect((await t.call('GET', `/api/projects/${projectId}`)).body.counts).toEqual({ items: 3, labeled: 2 });
  });

  it('imports CSV with quoted newlines and a JSON array', async () => {
    const csv = 'id,text,label\r\nc1,"line one\r\nline two",bug\r\nc2,"no label",\r\n';
    expect((await t.call('POST', `/api/projects/${projectId}/items`, csv, 'text/csv')).body).toMatchObject({ imported: 2, failed: 0 });
    const json = JSON.stringify([{ id: 'j1', text: 'from json', label: 'other' }, { id: 'j2', text: 'also json' }]);
    expect((await t.call('POST', `/api/projects/${projectId}/items`, json, 'application/json')).body).toMatchObject({ imported: 2 });
    const page = await items('?status=labeled&label=bug');
    expect(page.body.items.map((i: { text: string }) => i.text)).toEqual(['line one\r\nline two']);
  });

  it('browses with filters and keyset pages that neither skip nor repeat items', async () => {
    const unlabeled = await items('?status=unlabeled');
    expect(unlabeled.body.items.map((i: { externalId: string }) => i.externalId)).toEqual(['t2', 'c2', 'j2']);
    const labeled = await items('?status=labeled');
    expect(labeled.body.items[0]).toMatchObject({
      externalId: 't1',
      label: 'billing',
      annotation: { label: 'billing', annotator: 'import', source: 'import', createdAt: expect.any(String) },
      suggestion: null,
    });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: Array<{ externalId: string }>; nextCursor: string | null } } = await items(
        `?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((i) => i.externalId));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['t1', 't2', 't5', 'c1', 'c2', 'j1', 'j2']);
  });

  it('rejects an unknown label filter, a forged cursor and an unsupported content type', async () => {
    expect(await items('?label=nope')).toMatchObject({ status: 400, body: { error: { code: 'invalid_input' } } });
    expect(await items('?cursor=abc')).toMatchObject({ status: 400, body: { error: { code: 'invalid_input' } } });
    const res = await t.call('POST', `/api/projects/${projectId}/items`, 'id\n1', 'text/plain');
    expect(res).toMatchObject({ status: 415, body: { error: { code: 'unsupported_media_type' } } });
  });

  it('survives a malformed upload: a 9 MB cell, bad UTF-8, a BOM and a truncated last line', async () => {
    const file = Buffer.concat([
      Buffer.from('\uFEFF{"id":"m1","text":"fine"}\r\n'),
      Buffer.from(`{"id":"m2","text":"${'x'.repeat(9 * 1024 * 1024)}"}\n`),
      Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d, 0x0a]),
      Buffer.from('{"id":"m3","text":"also fine","__proto__":{"admin":true}}\n{"id":"m4","te'),
    ]);
    const { status, body } = await t.call('POST', `/api/projects/${projectId}/items`, file, ndjson);
    expect(status).toBe(200);
    expect(body).toMatchObject({ imported: 2, failed: 3 });
    expect(body.errors.map((e: { line: number; message: string }) => [e.line, e.message.split(' (')[0]])).toEqual([
      [2, 'row is longer than 8 MiB'],
      [3, 'row is not valid UTF-8'],
      [5, 'row is not valid JSON'],
    ]);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('answers a JSON file that is not an array with a clear 400', async () => {
    const res = await t.call('POST', `/api/projects/${projectId}/items`, '{"id":1}', 'application/json');
    expect(res).toMatchObject({ status: 400, body: { error: { message: 'The file cannot be read: a JSON file must hold an array of rows' } } });
  });

  it('exports labels with provenance as JSON Lines', async () => {
    const res = await t.request(`/api/projects/${projectId}/export?format=jsonl`);
    expect(res.headers.get('content-disposition')).toMatch(/attachment; filename=".*\.jsonl"/);
    const rows = (await res.text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((r) => r.id)).toEqual(['t1', 't5', 'c1', 'j1']);
    expect(rows[1]).toEqual({
      id: 't5',
      text: '=HYPERLINK("http://x")',
      label: 'other',
      annotator: 'maria',
      source: 'import',
      annotatedAt: expect.any(String),
    });
  });

  it('exports CSV with formula-like cells neutralised', async () => {
    const res = await t.request(`/api/projects/${projectId}/export?format=csv`);
    const lines = (await res.text()).split('\n');
    expect(lines[0]).toBe('id,text,label,annotator,source,annotated_at');
    expect(lines.find((l) => l.startsWith('t5'))).toMatch(/^t5,"'=HYPERLINK\(""http:\/\/x""\)",other,maria,import,/);
  });
});

describe.each(testDatabaseKinds())('vector and image projects on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(() => t.close());

  it('fixes the feature length with the first row and rejects rows of another length', async () => {
    const { body: project } = await t.call('POST', '/api/projects', { name: 'Fraud', kind: 'vector', labels: [{ name: 'ok' }, { name: 'fraud' }] });
    const file = '{"id":1,"features":[0.5,null,3]}\n{"id":2,"features":[1,2]}\n{"id":3,"features":[1,2,"x"]}\n';
    const { body } = await t.call('POST', `/api/projects/${project.id}/items`, file, ndjson);
    expect(body).toMatchObject({
      imported: 1,
      errors: [
        { line: 2, field: 'features', message: "features has 2 values; this project's items have 3" },
        { line: 3, field: 'features', message: 'features[2] is not a finite number' },
      ],
    });
    const page = await t.call('GET', `/api/projects/${project.id}/items`);
    expect(page.body.items[0].features).toEqual([0.5, null, 3]);
  });

  it('accepts images from the import folder and serves them, but never a path outside it', async () => {
    const { body: project } = await t.call('POST', '/api/projects', { name: 'Scans', kind: 'image', labels: [{ name: 'a' }, { name: 'b' }] });
    const file = '{"id":1,"image":"red.png"}\n{"id":2,"image":"../http/items.http.test.ts"}\n{"id":3,"image":"missing.png"}\n';
    const { body } = await t.call('POST', `/api/projects/${project.id}/items`, file, ndjson);
    expect(body.imported).toBe(1);
    expect(body.errors.map((e: { line: number }) => e.line)).toEqual([2, 3]);
    const page = await t.call('GET', `/api/projects/${project.id}/items`);
    const image = await t.request(page.body.items[0].image);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/png');
  });
});
