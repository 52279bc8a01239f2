import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../server/db/create-db.js';
import { insertItems } from '../../server/repositories/item.repository.js';
import { insertLabels } from '../../server/repositories/label.repository.js';
import { writeScores } from '../../server/repositories/pool.repository.js';
import { insertProject } from '../../server/repositories/project.repository.js';
import { insertRound } from '../../server/repositories/round.repository.js';
import { openTestDb, testDatabaseKinds } from '../support/test-db.js';

/** What the queue shows of a scoring run: each item's score, reason, suggestion and place. */
describe.each(testDatabaseKinds())('writing scores on %s', (kind) => {
  let database: DatabaseHandle;
  let ids: number[];
  let labelIds: number[];
  let roundId: number;

  beforeEach(async () => {
    database = await openTestDb(kind);
    const { db } = database;
    const project = await insertProject(db, { name: 'scores', kind: 'text', guidelines: '' });
    const labels = await insertLabels(db, project.id, [{ name: 'a', hotkey: null }, { name: 'b', hotkey: null }]);
    labelIds = labels.map((label) => label.id);
    const items = await insertItems(
      db,
      project.id,
      Array.from({ length: 4 }, (_, i) => ({ externalId: `x${i}`, text: `item ${i}`, features: null, image: null, labelId: null })),
      { holdoutShare: 0, overlap: 1 },
    );
    ids = items.sort((p, q) => p.externalId.localeCompare(q.externalId)).map((item) => item.itemId);
    roundId = (await insertRound(db, { projectId: project.id, trigger: 'manual', strategy: 'margin', model: 'softmax', params: {} })).id;
    // x3 is leased: the annotator holding it keeps what they were shown.
    await sql`update item set lease_annotator = 'ann', lease_expires_at = now() + interval '5 minutes' where item_id = ${ids[3]}`.execute(db);
  });
  afterEach(() => database.close());

  async function scored() {
    const { rows } = await sql<{ score: number | null; strategy: string | null; label: string | null; confidence: number | null; priority: number; round: number | null }>`
      select i.score, i.score_strategy as strategy, l.name as label, i.suggestion_confidence as confidence, i.priority, i.score_round_id as round
      from item i left join label l on l.label_id = i.suggestion_label_id
      where i.item_id = any(${ids}::int[]) order by i.external_id`.execute(database.db);
    return rows;
  }

  const chunk = (priorities: Float64Array | null) => ({
    itemIds: Int32Array.from(ids),
    scores: Float32Array.of(0.25, NaN, 0.5, 0.75),
    priorities,
    strategies: Uint8Array.of(0, 1, 2, 0),
    strategyNames: ['margin', 'cold-start (random)', 'random'],
    suggestionLabelIds: Int32Array.of(labelIds[0], labelIds[1], labelIds[1], labelIds[0]),
    confidences: Float32Array.of(0.9, 0.5, 0.625, 0.8),
  });

  it('stores each item score, reason and suggestion, with no score where the strategy gives none', async () => {
    await writeScores(database.db, roundId, chunk(Float64Array.of(12.5, 14, 13.25, 11)));
    const rows = await scored();
    expect(rows.slice(0, 3)).toEqual([
      { score: 0.25, strategy: 'margin', label: 'a', confidence: 0.9, priority: 12.5, round: roundId },
      { score: null, strategy: 'cold-start (random)', label: 'b', confidence: 0.5, priority: 14, round: roundId },
      { score: 0.5, strategy: 'random', label: 'b', confidence: 0.625, priority: 13.25, round: roundId },
    ]);
    expect(rows[3].round).toBeNull();
    expect(rows[3].strategy).not.toBe('margin');
  });

  it('keeps the queue order when the chunk carries no priorities', async () => {
    const before = (await scored()).map((row) => row.priority);
    await writeScores(database.db, roundId, chunk(null));
    const after = await scored();
    expect(after.map((row) => row.priority)).toEqual(before);
    expect(after[0]).toMatchObject({ score: 0.25, strategy: 'margin', round: roundId });
  });
});
