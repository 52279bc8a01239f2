import { type RawBuilder, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../server/db/create-db.js';
import { insertItems } from '../../server/repositories/item.repository.js';
import { insertLabels } from '../../server/repositories/label.repository.js';
import { insertProject } from '../../server/repositories/project.repository.js';
import { queueNext } from '../../server/repositories/queue.repository.js';
import { openTestDb, testDatabaseKinds } from '../support/test-db.js';

/**
 * A pick reads only items it can take: the items other annotators hold lie before the queue
 * frontier, so however many are leased at the head of the queue, the next pick does not walk past them.
 */
describe.each(testDatabaseKinds())('queue picks on %s', (kind) => {
  let database: DatabaseHandle;
  let projectId: number;
  let frontier: { rank: number; random: number };

  beforeAll(async () => {
    database = await openTestDb(kind);
    const { db } = database;
    const project = await insertProject(db, { name: 'queue', kind: 'text', guidelines: '' });
    projectId = project.id;
    await insertLabels(db, projectId, [{ name: 'a', hotkey: null }, { name: 'b', hotkey: null }]);
    const rows = Array.from({ length: 2000 }, (_, i) => ({ externalId: `x${i}`, text: `item ${i}`, features: null, image: null, labelId: null }));
    await insertItems(db, projectId, rows, { holdoutShare: 0, overlap: 1 });
    await sql`update item set priority = item_id where project_id = ${projectId}`.execute(db);
    await sql`analyze item`.execute(db);
    // 40 annotators take 5 items each: the 200 items at the head of the queue are held.
    for (let a = 0; a < 40; a++) await queueNext(db, [{ projectId, annotator: `holder-${a}`, n: 5 }]);
    // One more pick, as any annotator's would be, after which the index no longer points at held items.
    await queueNext(db, [{ projectId, annotator: 'warm-up', n: 5 }]);
    await sql`select advance_queue_frontier(${projectId})`.execute(db);
    ({ rows: [frontier] } = await sql<{ rank: number; random: number }>`
      select rank, random from queue_frontier where project_id = ${projectId}`.execute(db));
  });
  afterAll(() => database.close());

  /**
   * A query inside queue_next_items (see the migrations), as a plan can show it: `statement` is
   * prepared as `q` and run with `args`. The function keeps the plans it made without knowing
   * their parameters (generic plans), so those are the plans shown.
   */
  async function genericPlan(statement: RawBuilder<unknown>, args: RawBuilder<unknown>): Promise<string> {
    return database.db.transaction().execute(async (trx) => {
      await sql`set local enable_seqscan = off`.execute(trx);
      await sql`set local plan_cache_mode = force_generic_plan`.execute(trx);
      await sql`prepare q${statement}`.execute(trx);
      const { rows } = await sql<Record<string, string>>`explain (analyze, costs off, timing off, summary off) execute q(${args})`.execute(trx);
      await sql`deallocate q`.execute(trx);
      return rows.map((r) => String(Object.values(r)[0])).join('\n');
    });
  }

  it('reads the next free items from the queue index without stepping over held ones, checking skips and labels item by item', async () => {
    const text = await genericPlan(
      sql`(int, int, float8, float8, int[], text[], int) as
        select i.item_id from item i
        where i.project_id = $1 and i.open and not i.holdout and i.lease_annotator is null
          and (coalesce(-i.priority, 'Infinity'::float8), i.random_key) >= ($3, $4) and i.item_id <> all($5)
          and (select count(distinct x.annotator) from (
                 select s.annotator from skip s where s.item_id = i.item_id and s.annotator = any($6)
                 union all
                 select a.annotator from annotation a where $7 > 1 and a.item_id = i.item_id and a.annotator = any($6)) x
              ) < cardinality($6)
        order by coalesce(-i.priority, 'Infinity'::float8), i.random_key
        limit $2
        for update of i skip locked`,
      sql`${sql.lit(projectId)}, 5, ${sql.raw(String(frontier.rank))}, ${sql.raw(String(frontier.random))}, '{}', '{reader}', 2`,
    );
    expect(text).toContain('item_queue_idx');
    expect(text).not.toMatch(/Rows Removed by Filter: [1-9]/);
    // Whether every caller skipped or labeled an item is looked up item by item, by index.
    expect(text).toContain('skip_pkey');
    expect(text).toContain('annotation_item_idx');
    expect(text).not.toMatch(/Seq Scan/);
  });

  it('checks "not skipped, not labeled by this annotator already" for the candidates alone, without reading all their skips and labels', async () => {
    const { rows } = await sql<{ item_id: number }>`select item_id from item where project_id = ${projectId} limit 20`.execute(database.db);
    const candidates = sql.lit(`{${rows.map((r) => r.item_id).join(',')}}`);
    const text = await genericPlan(
      sql`(int[], text[], int) as
        select s.item_id || ':' || s.annotator from skip s
        where s.item_id = any($1) and s.annotator = any($2)
        union all
        select a.item_id || ':' || a.annotator from annotation a
        where $3 > 1 and a.item_id = any($1) and a.annotator = any($2)`,
      sql`${candidates}, '{reader,holder-1}', 2`,
    );
    expect(text).toContain('skip_pkey');
    expect(text).toContain('annotation_item_idx');
    expect(text).not.toMatch(/Seq Scan/);
  });

  /** The settings a database function runs with (`alter function … set`). */
  async function settingsOf(name: string): Promise<string[]> {
    const { rows } = await sql<{ config: string[] }>`select proconfig as config from pg_proc where proname = ${name}`.execute(database.db);
    return rows[0].config;
  }

  it('keeps the pick\'s plan from call to call and never compiles it', async () => {
    expect(await settingsOf('queue_next_items')).toEqual(expect.arrayContaining(['plan_cache_mode=force_generic_plan', 'jit=off']));
  });

  it('keeps the plans that store a batch of labels from call to call', async () => {
    expect(await settingsOf('record_human_labels')).toEqual(expect.arrayContaining(['plan_cache_mode=force_generic_plan']));
  });

  it('leases items by rewriting their rows in place, leaving the indexes of item alone', async () => {
    // A row whose page has no room left still moves, so nearly all stay in place, not all. The
    // counter also holds this connection's earlier updates not yet reported: each pick counts the
    // difference within its own transaction.
    const counter = sql<{ n: number }>`select pg_stat_get_xact_tuples_hot_updated('item'::regclass)::int as n`;
    let leased = 0;
    let inPlace = 0;
    for (let pick = 0; pick < 8; pick++) {
      await database.db.transaction().execute(async (trx) => {
        const { rows: before } = await counter.execute(trx);
        const [items] = await queueNext(trx, [{ projectId, annotator: `in-place-${pick}`, n: 5 }]);
        const { rows: after } = await counter.execute(trx);
        leased += items!.length;
        inPlace += after[0].n - before[0].n;
      });
    }
    expect(leased).toBe(40);
    expect(inPlace).toBeGreaterThanOrEqual(32);
  });

  it('reads leases and skips by index in the queue and label functions, however few rows they had when planned', async () => {
    const { rows } = await sql<{ name: string; config: string[] | null }>`
      select proname as name, proconfig as config from pg_proc
      where proname in ('queue_next_items', 'record_human_labels', 'record_human_label')`.execute(database.db);
    expect(rows).toHaveLength(3);
    for (const row of rows) expect({ name: row.name, config: row.config }).toEqual({ name: row.name, config: expect.arrayContaining(['enable_seqscan=off']) });
  });

  it('hands out the next items by priority, none of them held by anyone', async () => {
    const [items] = await queueNext(database.db, [{ projectId, annotator: 'reader', n: 5 }]);
    const ids = items!.map((item) => item.itemId);
    const { rows: held } = await sql<{ n: number }>`
      select count(*)::int as n from lease where item_id = any(${ids}::int[]) and annotator <> 'reader'`.execute(database.db);
    expect(ids).toHaveLength(5);
    expect(held[0].n).toBe(0);
    const { rows: best } = await sql<{ priority: number }>`
      select max(priority) as priority from item where project_id = ${projectId} and lease_annotator is null and open`.execute(database.db);
    const { rows: picked } = await sql<{ priority: number }>`
      select min(priority) as priority from item where item_id = any(${ids}::int[])`.execute(database.db);
    expect(picked[0].priority).toBeGreaterThan(best[0].priority);
  });
});
