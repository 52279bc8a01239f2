import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../server/db/create-db.js';
import { type HumanLabel, labeledWithin, recordHumanLabels } from '../../server/repositories/annotation.repository.js';
import { insertItems } from '../../server/repositories/item.repository.js';
import { insertLabels } from '../../server/repositories/label.repository.js';
import { insertProject } from '../../server/repositories/project.repository.js';
import { openTestDb, testDatabaseKinds } from '../support/test-db.js';

/**
 * A batch of label decisions (one group commit) gives every decision the outcome it would have had
 * on its own, whether the batch runs as one statement (distinct items and keys) or decision by
 * decision (an item or a key twice in the batch).
 */
describe.each(testDatabaseKinds())('recording a batch of labels on %s', (kind) => {
  let database: DatabaseHandle;
  let ids: number[];

  beforeEach(async () => {
    database = await openTestDb(kind);
    const { db } = database;
    const project = await insertProject(db, { name: 'batch', kind: 'text', guidelines: '' });
    await insertLabels(db, project.id, [{ name: 'a', hotkey: null }, { name: 'b', hotkey: null }]);
    const items = await insertItems(
      db,
      project.id,
      Array.from({ length: 8 }, (_, i) => ({ externalId: `x${i}`, text: `item ${i}`, features: null, image: null, labelId: null })),
      { holdoutShare: 0, overlap: 1 },
    );
    ids = items.sort((p, q) => p.externalId.localeCompare(q.externalId)).map((item) => item.itemId);
    // ann holds a lease on x0 and has labeled x1 before; other has labeled x2 (which needs one label).
    await sql`update item set lease_annotator = 'ann', lease_expires_at = now() + interval '5 minutes' where item_id = ${ids[0]}`.execute(db);
    await sql`insert into lease (item_id, project_id, annotator, expires_at) values (${ids[0]}, ${project.id}, 'ann', now() + interval '5 minutes')`.execute(db);
    await recordHumanLabels(db, [decision(1, 'a', 'ann', 'earlier-1'), decision(2, 'b', 'other', 'earlier-2')]);
  });
  afterEach(() => database.close());

  const decision = (item: number, label: string, annotator: string, key: string | null): HumanLabel => ({
    itemId: item < 0 ? 999_999 : ids[item],
    label,
    annotator,
    durationMs: 800,
    idempotencyKey: key,
  });

  async function itemState(item: number) {
    const { rows } = await sql<{ label: string | null; label_count: number; open: boolean; lease_annotator: string | null; leases: number }>`
      select l.name as label, i.label_count, i.open, i.lease_annotator,
             (select count(*) from lease where lease.item_id = i.item_id)::int as leases
      from item i left join label l on l.label_id = i.label_id where i.item_id = ${ids[item]}`.execute(database.db);
    return rows[0];
  }

  const auditedLabels = async () =>
    (await sql<{ n: number }>`select count(*)::int as n from audit_event where entity = 'annotation'`.execute(database.db)).rows[0].n;

  it.each([
    ['in one statement', false],
    ['decision by decision', true],
  ])('gives each decision its own outcome %s', async (_, itemTwice) => {
    // The same item twice in one batch: the second decision depends on the first.
    const extra = itemTwice ? [decision(6, 'a', 'ann', 'k6a'), decision(6, 'b', 'ann', 'k6b')] : [];
    const auditedBefore = await auditedLabels();
    const batch = [
      decision(3, 'zzz', 'ann', 'k3'), // unknown label
      decision(0, 'a', 'ann', 'k0'), // leased to ann: stored, lease released
      decision(-1, 'a', 'ann', 'k-missing'), // unknown item
      decision(1, 'b', 'ann', 'k1'), // ann changes an earlier label: version 2
      decision(2, 'a', 'ann', 'k2'), // already has the one label it needs, from someone else
      decision(4, 'a', 'ann', 'earlier-1'), // an idempotency key already used
      decision(5, 'b', 'ann', null), // no key
      ...extra,
    ];
    const outcomes = await recordHumanLabels(database.db, batch);

    expect(outcomes.slice(0, 7).map((o) => (o.kind === 'stored' ? `stored v${o.annotation.version}` : o.kind))).toEqual([
      'label_not_found',
      'stored v1',
      'item_not_found',
      'stored v2',
      'not_stored',
      'not_stored',
      'stored v1',
    ]);
    const stored = outcomes.flatMap((o, i) => (o.kind === 'stored' ? [{ ...o.annotation, asked: batch[i] }] : []));
    for (const s of stored) {
      expect(s.itemId).toBe(s.asked.itemId);
      expect(s.label).toBe(s.asked.label);
      expect(s.createdAt).toBeInstanceOf(Date);
    }

    expect(await itemState(0)).toEqual({ label: 'a', label_count: 1, open: false, lease_annotator: null, leases: 0 });
    expect(await itemState(1)).toEqual({ label: 'b', label_count: 1, open: false, lease_annotator: null, leases: 0 });
    expect(await itemState(2)).toEqual({ label: 'b', label_count: 1, open: false, lease_annotator: null, leases: 0 });
    expect(await itemState(3)).toEqual({ label: null, label_count: 0, open: true, lease_annotator: null, leases: 0 });
    expect(await itemState(4)).toEqual({ label: null, label_count: 0, open: true, lease_annotator: null, leases: 0 });
    if (extra.length > 0) {
      expect(outcomes.slice(7).map((o) => (o.kind === 'stored' ? `stored v${o.annotation.version}` : o.kind))).toEqual(['stored v1', 'stored v2']);
      expect(await itemState(6)).toEqual({ label: 'b', label_count: 1, open: false, lease_annotator: null, leases: 0 });
    }

    // Every stored label is in the audit trail once; nothing else is.
    expect((await auditedLabels()) - auditedBefore).toBe(stored.length);
    const { rows } = await sql<{ key: string | null; version: number }>`
      select idempotency_key as key, version from annotation where item_id = ${ids[1]} order by version`.execute(database.db);
    expect(rows).toEqual([
      { key: 'earlier-1', version: 1 },
      { key: 'k1', version: 2 },
    ]);
  });

  it('tells whether anyone labeled in the last seconds (scoring writes stand aside meanwhile)', async () => {
    // The setup's labels were stored moments ago.
    expect(await labeledWithin(database.db, 2)).toBe(true);
    await sql`insert into annotation (item_id, project_id, label_id, annotator, source, created_at)
      select item_id, project_id, label_id, 'ann', 'human', now() - interval '10 seconds' from item where item_id = ${ids[1]}`.execute(database.db);
    expect(await labeledWithin(database.db, 2)).toBe(false);
    expect(await labeledWithin(database.db, 60)).toBe(true);
  });
});
