import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../server/db/create-db.js';
import { recordHumanLabels } from '../../server/repositories/annotation.repository.js';
import { insertItems } from '../../server/repositories/item.repository.js';
import { insertLabels } from '../../server/repositories/label.repository.js';
import { insertProject } from '../../server/repositories/project.repository.js';
import { queueNext } from '../../server/repositories/queue.repository.js';
import { openTestDb, testDatabaseKinds } from '../support/test-db.js';

/** Several annotators' calls for items, answered by one statement. */
describe.each(testDatabaseKinds())('queueNext on %s', (kind) => {
  let database: DatabaseHandle;
  let projectId: number;

  const leasesOf = async (annotator: string) =>
    (
      await sql<{ item_id: number }>`select item_id from lease where annotator = ${annotator} order by item_id`.execute(database.db)
    ).rows.map((r) => r.item_id);

  /** A project of `items` open items, none of them holdout, with one label `a`. */
  async function newProject(name: string, items: number): Promise<number> {
    const project = await insertProject(database.db, { name, kind: 'text', guidelines: '' });
    await insertLabels(database.db, project.id, [{ name: 'a', hotkey: null }]);
    const rows = Array.from({ length: items }, (_, i) => ({ externalId: `x${i}`, text: `item ${i}`, features: null, image: null, labelId: null }));
    await insertItems(database.db, project.id, rows, { holdoutShare: 0, overlap: 1 });
    return project.id;
  }

  /** The project's free items in queue order. */
  const queueOrder = async (project: number) =>
    (
      await sql<{ item_id: number }>`
        select item_id from item where project_id = ${project} and open and not holdout and lease_annotator is null
        order by priority desc nulls last, random_key`.execute(database.db)
    ).rows.map((r) => r.item_id);

  beforeAll(async () => {
    database = await openTestDb(kind);
    projectId = await newProject('queue', 30);
  });
  afterAll(() => database.close());

  it('answers each request in order with items of its own, a later request seeing what earlier ones leased', async () => {
    const [first, second, again] = await queueNext(database.db, [
      { projectId, annotator: 'ann-a', n: 2 },
      { projectId, annotator: 'ann-b', n: 3 },
      { projectId, annotator: 'ann-a', n: 2 },
    ]);
    expect(first).toHaveLength(2);
    expect(second).toHaveLength(3);
    const ids = [...first!, ...second!].map((item) => item.itemId);
    expect(new Set(ids).size).toBe(5);
    // ann-a's second request in the same statement gets back the two items its first one leased.
    expect(again!.map((item) => item.itemId).sort()).toEqual(first!.map((item) => item.itemId).sort());
    expect(await leasesOf('ann-a')).toEqual(first!.map((item) => item.itemId).sort((x, y) => x - y));
    expect(await leasesOf('ann-b')).toEqual(second!.map((item) => item.itemId).sort((x, y) => x - y));
  });

  it('fails a statement naming an unknown project as a whole, and answers undefined for that project alone', async () => {
    await expect(
      queueNext(database.db, [
        { projectId, annotator: 'ann-c', n: 2 },
        { projectId: 999_999, annotator: 'ann-c', n: 2 },
      ]),
    ).rejects.toMatchObject({ code: 'P0002' });
    // The known project's request leased nothing: the statement was undone, so it can be sent again.
    expect(await leasesOf('ann-c')).toEqual([]);
    expect(await queueNext(database.db, [{ projectId: 999_999, annotator: 'ann-c', n: 2 }])).toEqual([undefined]);
  });

  it('gives an item one caller skipped to the next caller in the same statement, and the skipper the item after it', async () => {
    const project = await newProject('skips', 10);
    const [first, second] = await queueOrder(project);
    await sql`insert into skip (item_id, annotator) values (${first}, 'skipper')`.execute(database.db);
    const [skipper, other] = await queueNext(database.db, [
      { projectId: project, annotator: 'skipper', n: 1 },
      { projectId: project, annotator: 'other', n: 1 },
    ]);
    expect(skipper!.map((item) => item.itemId)).toEqual([second]);
    expect(other!.map((item) => item.itemId)).toEqual([first]);
  });

  it('with several labels per item, never gives a caller an item they labeled, and gives it to the next caller', async () => {
    const project = await newProject('overlap', 10);
    await sql`update project set overlap = 2 where project_id = ${project}`.execute(database.db);
    const [first] = await queueOrder(project);
    await recordHumanLabels(database.db, [{ itemId: first, label: 'a', annotator: 'labeler', durationMs: null, idempotencyKey: null }]);
    expect((await queueOrder(project))[0]).toBe(first); // still open for its second label
    const [labeler, other] = await queueNext(database.db, [
      { projectId: project, annotator: 'labeler', n: 2 },
      { projectId: project, annotator: 'other', n: 2 },
    ]);
    expect(labeler!.map((item) => item.itemId)).not.toContain(first);
    expect(other!.map((item) => item.itemId)).toContain(first);
  });

  it('fills each call from the other queue once the holdout queue runs out, call after call', async () => {
    const project = await newProject('holdout', 10);
    const [a, b, c] = await queueOrder(project);
    await sql`update item set holdout = item_id = any(${[a, b, c]}::int[]) where project_id = ${project}`.execute(database.db);
    await sql`update project set holdout_share = 1 where project_id = ${project}`.execute(database.db);
    const [first, second, third] = await queueNext(database.db, [
      { projectId: project, annotator: 'h1', n: 2 },
      { projectId: project, annotator: 'h2', n: 2 },
      { projectId: project, annotator: 'h3', n: 2 },
    ]);
    expect(first!.map((item) => item.holdout)).toEqual([true, true]);
    expect(second!.map((item) => item.holdout).sort()).toEqual([false, true]);
    expect(third!.map((item) => item.holdout)).toEqual([false, false]);
    expect(new Set([...first!, ...second!, ...third!].map((item) => item.itemId)).size).toBe(6);
  });
});
