import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../server/db/create-db.js';
import { recordHumanLabels } from '../../server/repositories/annotation.repository.js';
import { applyOverlap, insertItems, reassignHoldout } from '../../server/repositories/item.repository.js';
import { insertLabels } from '../../server/repositories/label.repository.js';
import { insertProject } from '../../server/repositories/project.repository.js';
import { queueNext, releaseLease } from '../../server/repositories/queue.repository.js';
import { openTestDb, testDatabaseKinds } from '../support/test-db.js';

/**
 * Picks start at each project's queue frontier instead of the head of the queue index, and the
 * frontier moves up after picks. Whatever brings an item back to the queue must move it back: an
 * item behind it would never be handed out again. Here the frontier is moved up after every step
 * of a random mix of everything that takes items from the queue or brings them back, and each step
 * ends with a pick that must get the item a full read of the table says is next.
 */
describe.each(testDatabaseKinds())('the queue frontier on %s', (kind) => {
  let database: DatabaseHandle;
  let projectId: number;

  beforeAll(async () => {
    database = await openTestDb(kind);
    const project = await insertProject(database.db, { name: 'frontier', kind: 'text', guidelines: '' });
    projectId = project.id;
    await insertLabels(database.db, projectId, [{ name: 'a', hotkey: null }, { name: 'b', hotkey: null }]);
    await addItems(0, 300, 0.3);
    await sql`update item set priority = random() where project_id = ${projectId}`.execute(database.db);
  });
  afterAll(() => database.close());

  const db = () => database.db;
  let nextExternal = 0;
  async function addItems(from: number, count: number, holdoutShare: number): Promise<void> {
    const rows = Array.from({ length: count }, (_, i) => ({ externalId: `x${from + i}`, text: `item ${from + i}`, features: null, image: null, labelId: null }));
    await insertItems(db(), projectId, rows, { holdoutShare, overlap: 1 });
    nextExternal = from + count;
  }

  /** The next free item of one of the two queues, read from the whole table. */
  async function expectedNext(holdout: boolean): Promise<number | undefined> {
    const order = holdout ? sql`random_key` : sql`priority desc nulls last, random_key`;
    const { rows } = await sql<{ item_id: number }>`
      select item_id from item
      where project_id = ${projectId} and open and holdout = ${holdout}
        and (lease_annotator is null or lease_expires_at < now())
      order by ${order} limit 1`.execute(db());
    return rows[0]?.item_id;
  }

  /**
   * One pick by a new annotator from the queue `holdout` names (the project's share set to all or
   * none); when that queue is empty the other one fills in, which is not what is checked here.
   */
  async function pickFrom(holdout: boolean, annotator: string): Promise<number | undefined> {
    await sql`update project set holdout_share = ${holdout ? 1 : 0} where project_id = ${projectId}`.execute(db());
    const [items] = await queueNext(db(), [{ projectId, annotator, n: 1 }]);
    return items!.find((item) => item.holdout === holdout)?.itemId;
  }

  async function leased(): Promise<Array<{ item_id: number; annotator: string }>> {
    const { rows } = await sql<{ item_id: number; annotator: string }>`
      select item_id, annotator from lease where project_id = ${projectId} order by random() limit 3`.execute(db());
    return rows;
  }

  it('never hides an item that came back to the queue', async () => {
    let annotators = 0;
    const steps: Array<[string, () => Promise<unknown>]> = [
      ['lease', () => queueNext(db(), [{ projectId, annotator: `a${annotators++}`, n: 4 }])],
      [
        'label',
        async () => {
          const held = await leased();
          await recordHumanLabels(db(), held.map((l) => ({ itemId: l.item_id, label: 'a', annotator: l.annotator, durationMs: null, idempotencyKey: null })));
        },
      ],
      ['release', async () => Promise.all((await leased()).map((l) => releaseLease(db(), l.item_id, l.annotator)))],
      [
        'expire',
        async () => {
          for (const l of await leased()) {
            await sql`update item set lease_expires_at = now() - interval '1 second' where item_id = ${l.item_id}`.execute(db());
            await sql`update lease set expires_at = now() - interval '1 second' where item_id = ${l.item_id}`.execute(db());
          }
        },
      ],
      ['rescore', () => sql`update item set priority = random() where project_id = ${projectId} and random() < 0.3`.execute(db())],
      ['import', () => addItems(nextExternal, 5, 0.3)],
      ['holdout share', () => reassignHoldout(db(), projectId, Math.random() * 0.6)],
      ['reopen for a second label', () => applyOverlap(db(), projectId, 2)],
      ['back to one label', () => applyOverlap(db(), projectId, 1)],
    ];
    let picks = 0;
    for (let step = 0; step < 120; step++) {
      const [name, run] = steps[Math.floor(Math.random() * steps.length)];
      await run();
      await sql`select advance_queue_frontier(${projectId})`.execute(db());
      const holdout = step % 3 === 0;
      const expected = await expectedNext(holdout);
      const got = await pickFrom(holdout, `checker-${step}`);
      expect({ step, name, got }).toEqual({ step, name, got: expected });
      if (got !== undefined) picks += 1;
      await sql`select advance_queue_frontier(${projectId})`.execute(db());
    }
    expect(picks).toBeGreaterThan(60);
  });

  it('moves up past what has been leased and labeled', async () => {
    const { rows: before } = await sql<{ rank: number }>`select rank from queue_frontier where project_id = ${projectId}`.execute(db());
    await queueNext(db(), [{ projectId, annotator: 'mover', n: 10 }]);
    await sql`select advance_queue_frontier(${projectId})`.execute(db());
    const { rows: after } = await sql<{ rank: number }>`select rank from queue_frontier where project_id = ${projectId}`.execute(db());
    expect(after[0].rank).toBeGreaterThan(before[0].rank);
  });
});
