import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, emailOf, type TestApp, type TestUser, textProject } from '../support/test-app.js';
import { testDatabaseKinds, testPoolSize } from '../support/test-db.js';

interface QueueItem {
  id: number;
  text: string;
  suggestion: { label: string; confidence: number; roundId: number | null } | null;
  reason: { strategy: string; score: number | null; holdout: boolean };
  leaseExpiresAt: string;
}

describe.each(testDatabaseKinds())('annotation queue on %s', (kind) => {
  let t: TestApp;
  let projectId: number;
  let keySeq = 0;

  /** The annotator called `name`, a member of the current project. */
  const as = (name: string): Promise<TestUser> => t.member(name, projectId);
  const next = async (annotator: string, n = 5): Promise<QueueItem[]> => {
    const res = await (await as(annotator)).call('POST', `/api/projects/${projectId}/queue/next`, { n });
    expect(res.status).toBe(200);
    return res.body.items;
  };
  const submit = async (itemId: number, annotator: string, label: string, key = `key-${++keySeq}-${kind}`) => {
    const res = await (await as(annotator)).request(`/api/items/${itemId}/annotations`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
      body: JSON.stringify({ label, durationMs: 1500 }),
    });
    return { status: res.status, body: await res.json() };
  };
  // As time would: the item's lease and the lease table's record of it run out together.
  const expireLease = async (itemId: number) => {
    await sql`update item set lease_expires_at = now() - interval '1 second' where item_id = ${itemId}`.execute(t.database.db);
    await sql`update lease set expires_at = now() - interval '1 second' where item_id = ${itemId}`.execute(t.database.db);
  };
  const annotationCount = async () =>
    (await sql<{ n: number }>`select count(*)::int as n from annotation where project_id = ${projectId}`.execute(t.database.db)).rows[0].n;

  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  beforeEach(async () => {
    projectId = (await t.call('POST', '/api/projects', textProject)).body.id;
    await sql`update project set holdout_share = 0 where project_id = ${projectId}`.execute(t.database.db);
    const rows = Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `q${i}`, text: `ticket ${i}` })).join('\n');
    await t.call('POST', `/api/projects/${projectId}/items`, rows, 'application/x-ndjson');
  });
  afterAll(() => t.close());

  it('hands out leased items with the reason they were picked', async () => {
    const items = await next('ann', 3);
    expect(items).toHaveLength(3);
    for (const item of items) {
      expect(item.reason).toEqual({ strategy: 'cold-start (random)', score: null, holdout: false });
      expect(item.suggestion).toBeNull();
      expect(new Date(item.leaseExpiresAt).getTime()).toBeGreaterThan(Date.now());
    }
  });

  it('gives each item to one annotator at a time, even under concurrent requests', async () => {
    const batches = await Promise.all(Array.from({ length: 8 }, (_, i) => next(`ann${i}`, 5)));
    const ids = batches.flat().map((item) => item.id);
    expect(ids).toHaveLength(40);
    expect(new Set(ids).size).toBe(40);
    expect(await next('late')).toEqual([]);
  });

  it('returns the items an annotator already holds before leasing new ones', async () => {
    const first = await next('ann', 3);
    const again = await next('ann', 5);
    expect(again.slice(0, 3).map((i) => i.id).sort()).toEqual(first.map((i) => i.id).sort());
    expect(new Set(again.map((i) => i.id)).size).toBe(5);
  });

  it('stores a label once per idempotency key and answers a retry with the original', async () => {
    const [item] = await next('ann', 1);
    const first = await submit(item.id, 'ann', 'bug', 'retry-key-123');
    expect(first).toMatchObject({ status: 201, body: { itemId: item.id, label: 'bug', annotator: emailOf('ann'), source: 'human', version: 1, durationMs: 1500 } });
    const retry = await submit(item.id, 'ann', 'bug', 'retry-key-123');
    expect(retry).toEqual(first);
    expect(await annotationCount()).toBe(1);
    const misuse = await submit(item.id, 'ann', 'other', 'retry-key-123');
    expect(misuse).toMatchObject({ status: 422, body: { error: { code: 'idempotency_key_reused' } } });
  });

  it('refuses an Idempotency-Key too short to be unique, naming the header, and stores nothing', async () => {
    const [item] = await next('ann', 1);
    const short = await submit(item.id, 'ann', 'bug', 'abc');
    expect(short).toMatchObject({ status: 400, body: { error: { code: 'validation_failed', details: [{ path: 'idempotency-key' }] } } });
    expect(await annotationCount()).toBe(0);
  });

  // The embedded database has one connection for everything.
  it.runIf(kind === 'postgres')('stores a label while slow queries hold every pooled connection', async () => {
    const [item] = await next('ann', 1);
    const answered: string[] = [];
    const slowQueries = Promise.all(Array.from({ length: testPoolSize }, () => sql`select pg_sleep(2)`.execute(t.database.db))).then(() =>
      answered.push('slow queries'),
    );
    await new Promise((r) => setTimeout(r, 200));
    const label = submit(item.id, 'ann', 'bug').then((res) => answered.push(`label ${res.status}`));
    await Promise.all([slowQueries, label]);
    expect(answered).toEqual(['label 201', 'slow queries']);
  });

  it('keeps every version when an annotator changes a label', async () => {
    const [item] = await next('ann', 1);
    await submit(item.id, 'ann', 'bug');
    const changed = await submit(item.id, 'ann', 'billing');
    expect(changed.body).toMatchObject({ label: 'billing', version: 2 });
    expect(await annotationCount()).toBe(2);
    const page = await t.call('GET', `/api/projects/${projectId}/items?status=labeled`);
    expect(page.body.items).toEqual([expect.objectContaining({ id: item.id, label: 'billing' })]);
  });

  it('returns an expired lease to the queue and answers a late submit 409 once someone else labeled it', async () => {
    const [item] = await next('slow', 1);
    await expireLease(item.id);
    const taken = await next('fast', 40);
    expect(taken.map((i) => i.id)).toContain(item.id);
    expect((await submit(item.id, 'fast', 'bug')).status).toBe(201);
    const late = await submit(item.id, 'slow', 'other');
    expect(late).toMatchObject({ status: 409, body: { error: { code: 'already_labeled' } } });
    expect(await annotationCount()).toBe(1);
  });

  it('accepts a late submit from an expired lease when nobody else labeled the item', async () => {
    const [item] = await next('slow', 1);
    await expireLease(item.id);
    expect((await submit(item.id, 'slow', 'other')).status).toBe(201);
  });

  it('does not show a skipped item to the same annotator again, but does to others', async () => {
    const [item] = await next('ann', 1);
    expect((await (await as('ann')).call('POST', `/api/items/${item.id}/skip`, {})).body).toEqual({ itemId: item.id, skipped: true });
    expect((await next('ann', 40)).map((i) => i.id)).not.toContain(item.id);
    expect((await next('other', 40)).map((i) => i.id)).toContain(item.id);
  });

  it('releases a lease on request and renews the ones still held', async () => {
    const items = await next('ann', 2);
    const ann = await as('ann');
    expect((await ann.request(`/api/items/${items[0].id}/lease`, { method: 'DELETE' })).status).toBe(204);
    const renewed = await ann.call('POST', `/api/projects/${projectId}/leases/renew`, {});
    expect(renewed.body).toMatchObject({ renewed: 1, leaseExpiresAt: expect.any(String) });
    expect((await next('other', 40)).map((i) => i.id)).toContain(items[0].id);
  });

  it('orders by the model score, shows its suggestion, and hides it on random audit picks', async () => {
    const db = t.database.db;
    const labels = (await t.call('GET', `/api/projects/${projectId}`)).body.labels;
    await sql`update item set score = 1.0 / (1 + item_id), priority = 1.0 / (1 + item_id), score_strategy = 'margin', suggestion_label_id = ${labels[1].id},
      suggestion_confidence = 0.6 where project_id = ${projectId}`.execute(db);
    const items = await next('ann', 3);
    expect(items.map((i) => i.reason.score)).toEqual([...items.map((i) => i.reason.score)].sort((a, b) => b! - a!));
    expect(items[0]).toMatchObject({ reason: { strategy: 'margin', holdout: false }, suggestion: { label: 'bug', confidence: 0.6 } });
    const listed = await t.call('GET', `/api/projects/${projectId}/items?limit=1`);
    expect(listed.body.items[0].suggestion).toEqual({ label: 'bug', confidence: 0.6, roundId: null });

    await sql`update item set holdout = true where project_id = ${projectId}`.execute(db);
    await sql`update project set holdout_share = 1 where project_id = ${projectId}`.execute(db);
    const audits = await next('auditor', 3);
    for (const item of audits) {
      expect(item.reason).toEqual({ strategy: 'random audit', score: null, holdout: true });
      expect(item.suggestion).toBeNull();
    }
  });

  it('lets k annotators label an item when the project asks for overlap k', async () => {
    await sql`update project set overlap = 2 where project_id = ${projectId}`.execute(t.database.db);
    const [item] = await next('a', 1);
    expect((await submit(item.id, 'a', 'bug')).status).toBe(201);
    expect((await next('a', 40)).map((i) => i.id)).not.toContain(item.id);
    const forB = await next('b', 40);
    expect(forB.map((i) => i.id)).toContain(item.id);
    expect((await submit(item.id, 'b', 'bug')).status).toBe(201);
    expect((await submit(item.id, 'c', 'bug')).status).toBe(409);
  });

  it('reports the annotator progress', async () => {
    const items = await next('ann', 2);
    for (const item of items) await submit(item.id, 'ann', 'other');
    const { body } = await (await as('ann')).call('GET', `/api/projects/${projectId}/progress`);
    expect(body).toEqual({ labeledToday: 2, labeledTotal: 2, averageMs: 1500, remaining: 38 });
  });

  it("counts today's labels from the start of the annotator's own day", async () => {
    const items = await next('ann', 2);
    for (const item of items) await submit(item.id, 'ann', 'other');
    const ann = await as('ann');
    const progressFrom = async (dayStart: Date) =>
      (await ann.call('GET', `/api/projects/${projectId}/progress?dayStart=${encodeURIComponent(dayStart.toISOString())}`)).body;

    // A day that began an hour ago holds both labels; one that begins in an hour (later time zone) none yet.
    expect(await progressFrom(new Date(Date.now() - 3600_000))).toMatchObject({ labeledToday: 2, labeledTotal: 2, averageMs: 1500 });
    expect(await progressFrom(new Date(Date.now() + 3600_000))).toMatchObject({ labeledToday: 0, labeledTotal: 2, averageMs: null });
    const refused = await ann.call('GET', `/api/projects/${projectId}/progress?dayStart=yesterday`);
    expect(refused).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });
  });

  it('answers 404 for an unknown project without disturbing requests for a known one', async () => {
    const ann = await as('ann');
    const [unknown, known] = await Promise.all([
      t.call('POST', '/api/projects/999999/queue/next', {}),
      ann.call('POST', `/api/projects/${projectId}/queue/next`, { n: 2 }),
    ]);
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(known.status).toBe(200);
    expect(known.body.items).toHaveLength(2);
  });

  it('answers calls that wait together in one statement, apart again when one names an unknown project', async () => {
    // Calls made together are split between two statements; the second annotator's two calls stay in one.
    const calls = [
      t.services.queue.next(projectId, 'first', 2),
      t.services.queue.next(projectId, 'second', 2),
      t.services.queue.next(999_999, 'second', 2),
      t.services.queue.next(projectId, 'third', 3),
    ];
    const [first, second, unknown, third] = await Promise.allSettled(calls);
    expect(unknown).toMatchObject({ status: 'rejected', reason: { status: 404 } });
    const picked = [first, second, third].map((answer) => (answer.status === 'fulfilled' ? answer.value.map((item) => item.itemId) : []));
    expect(picked.map((ids) => ids.length)).toEqual([2, 2, 3]);
    expect(new Set(picked.flat()).size).toBe(7);
  });

  it('rejects a label outside the label set and an unknown item', async () => {
    const [item] = await next('ann', 1);
    expect((await submit(item.id, 'ann', 'nope')).status).toBe(400);
    expect((await submit(999_999, 'ann', 'bug')).status).toBe(404);
  });
});
