import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../server/db/create-db.js';
import { insertItems, type ItemQuery, listItemsQuery } from '../../server/repositories/item.repository.js';
import { insertLabels } from '../../server/repositories/label.repository.js';
import { insertProject } from '../../server/repositories/project.repository.js';
import { openTestDb, testDatabaseKinds } from '../support/test-db.js';

describe.each(testDatabaseKinds())('item listing plans on %s', (kind) => {
  let database: DatabaseHandle;
  let projectId: number;
  let labelId: number;

  beforeAll(async () => {
    database = await openTestDb(kind);
    const { db } = database;
    for (const name of ['other', 'main']) {
      const project = await insertProject(db, { name, kind: 'text', guidelines: '' });
      const labels = await insertLabels(db, project.id, [{ name: 'a', hotkey: null }, { name: 'b', hotkey: null }]);
      projectId = project.id;
      labelId = labels[0].id;
      const rows = Array.from({ length: 3000 }, (_, i) => ({
        externalId: `x${i}`,
        text: `item ${i}`,
        features: null,
        image: null,
        labelId: i % 5 === 0 ? labels[i % 2].id : null,
      }));
      await insertItems(db, project.id, rows, { holdoutShare: 0.1, overlap: 1 });
    }
    await sql`analyze item`.execute(db);
  });
  afterAll(() => database.close());

  async function plan(query: Omit<ItemQuery, 'projectId' | 'limit'>): Promise<string> {
    return database.db.transaction().execute(async (trx) => {
      // Small test tables would be read whole; forbid that to see which index serves the page.
      await sql`set local enable_seqscan = off`.execute(trx);
      const rows = await listItemsQuery(trx, { projectId, limit: 51, afterItemId: 100, ...query }).explain();
      return rows.map((r) => String(Object.values(r)[0])).join('\n');
    });
  }

  it.each([
    [{}, 'item_project_item_idx'],
    [{ status: 'unlabeled' as const }, 'item_unlabeled_idx'],
    [{ status: 'labeled' as const }, 'item_labeled_idx'],
  ])('serves the page %j from %s in id order without sorting', async (query, index) => {
    const text = await plan(query);
    expect(text).toContain(index);
    expect(text).not.toMatch(/\bSort\b/);
  });

  it('serves a label filter from the label index without sorting', async () => {
    const text = await plan({ labelId });
    expect(text).toContain('item_project_label_idx');
    expect(text).not.toMatch(/\bSort\b/);
  });
});
