import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../server/db/create-db.js';
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

  beforeAll(async () => {
    database = await openTestDb(kind);
    const project = await insertProject(database.db, { name: 'queue', kind: 'text', guidelines: '' });
    projectId = project.id;
    await insertLabels(database.db, projectId, [{ name: 'a', hotkey: null }]);
    const rows = Array.from({ length: 30 }, (_, i) => ({ externalId: `x${i}`, text: `item ${i}`, features: null, image: null, labelId: null }));
    await insertItems(database.db, projectId, rows, { holdoutShare: 0, overlap: 1 });
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
});
