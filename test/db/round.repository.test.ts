import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../server/db/create-db.js';
import { insertProject } from '../../server/repositories/project.repository.js';
import {
  deleteWeights,
  findArtifact,
  hasArtifact,
  insertRound,
  saveOutcome,
  saveWeightsPart,
} from '../../server/repositories/round.repository.js';
import { openTestDb, testDatabaseKinds } from '../support/test-db.js';

/** A round's model is what it was trained to, whether its weights were saved whole or in parts. */
describe.each(testDatabaseKinds())('round models on %s', (kind) => {
  let database: DatabaseHandle;
  let roundId: number;
  const outcome = { metrics: null, comparison: null, timings: {}, artifactJson: '{"format":"test"}' };
  const weights = Uint8Array.from({ length: 250_000 }, (_, i) => (i * 7919) % 251);
  /** Byte for byte (a deep comparison of typed arrays this size takes seconds). */
  const same = (a: Uint8Array | undefined, b: Uint8Array) => a !== undefined && a.length === b.length && Buffer.from(a).equals(Buffer.from(b));

  beforeEach(async () => {
    database = await openTestDb(kind);
    const project = await insertProject(database.db, { name: 'models', kind: 'text', guidelines: '' });
    roundId = (await insertRound(database.db, { projectId: project.id, trigger: 'manual', strategy: 'margin', model: 'softmax', params: {} })).id;
  });
  afterEach(() => database.close());

  const saveInParts = async (bytes: Uint8Array, partSize: number) => {
    await deleteWeights(database.db, roundId);
    for (let part = 0; part * partSize < bytes.length; part++) {
      await saveWeightsPart(database.db, roundId, part, bytes.subarray(part * partSize, (part + 1) * partSize));
    }
  };

  it('has no model until the outcome is saved, then loads the parts back byte for byte', async () => {
    await saveInParts(weights, 100_000);
    expect(await hasArtifact(database.db, roundId)).toBe(false);
    expect(await findArtifact(database.db, roundId)).toBeUndefined();

    await saveOutcome(database.db, roundId, outcome);
    expect(await hasArtifact(database.db, roundId)).toBe(true);
    const artifact = await findArtifact(database.db, roundId);
    expect(artifact?.json).toBe(outcome.artifactJson);
    expect(same(artifact?.weights, weights)).toBe(true);
  });

  it('keeps only the parts of the last attempt at a round', async () => {
    await saveInParts(weights, 100_000);
    const retried = weights.subarray(0, 120_000).map((b) => 255 - b);
    await saveInParts(retried, 100_000);
    await saveOutcome(database.db, roundId, outcome);
    expect(same((await findArtifact(database.db, roundId))?.weights, retried)).toBe(true);
  });

  it('loads a model saved whole, before weights were saved in parts', async () => {
    await sql`update round set artifact_json = ${outcome.artifactJson}, artifact_weights = ${weights} where round_id = ${roundId}`.execute(database.db);
    expect(await hasArtifact(database.db, roundId)).toBe(true);
    expect(same((await findArtifact(database.db, roundId))?.weights, weights)).toBe(true);
  });
});
