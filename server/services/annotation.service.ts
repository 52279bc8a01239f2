import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { AppError, ConflictError, InvalidInputError, NotFoundError } from '../errors.js';
import {
  type AnnotationRecord,
  countVersions,
  findAnnotation,
  findAnnotationByIdempotencyKey,
  insertAnnotation,
} from '../repositories/annotation.repository.js';
import { applyLabel, lockItem } from '../repositories/item.repository.js';
import { listLabels } from '../repositories/label.repository.js';
import { findProject } from '../repositories/project.repository.js';

export interface LabelDecision {
  label: string;
  annotator: string;
  durationMs?: number;
}

export class AnnotationService {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Stores a human label exactly once per idempotency key: a retry of the same decision answers
   * the annotation stored the first time. Annotations are appended, never changed; a new label
   * from the same annotator is a new version. A submit without a live lease is accepted while
   * the item still needs a label from someone who has not given one.
   */
  async submit(itemId: number, decision: LabelDecision, idempotencyKey: string | null): Promise<AnnotationRecord> {
    if (idempotencyKey !== null) {
      const earlier = await findAnnotationByIdempotencyKey(this.db, idempotencyKey);
      if (earlier) return this.replay(earlier, itemId, decision);
    }
    const annotationId = await this.db.transaction().execute(async (trx) => {
      const item = await lockItem(trx, itemId);
      if (!item) throw new NotFoundError(`Item ${itemId}`);
      if (idempotencyKey !== null) {
        // A concurrent retry may have committed while we waited for the row lock.
        const raced = await findAnnotationByIdempotencyKey(trx, idempotencyKey);
        if (raced) return raced.id;
      }
      // Inside the transaction every query uses `trx`: the embedded database has one connection.
      const project = await findProject(trx, item.projectId);
      if (!project) throw new NotFoundError(`Project ${item.projectId}`);
      const label = (await listLabels(trx, [item.projectId])).find((l) => l.name === decision.label);
      if (!label) throw new InvalidInputError(`Label "${decision.label}" is not in this project's label set`);
      const versions = await countVersions(trx, itemId, decision.annotator);
      if (versions === 0 && item.labelCount >= project.overlap) {
        throw new ConflictError('already_labeled', `Item ${itemId} was labeled by someone else after your lease expired`);
      }
      const id = await insertAnnotation(trx, {
        itemId,
        projectId: item.projectId,
        labelId: label.id,
        annotator: decision.annotator,
        source: 'human',
        durationMs: decision.durationMs ?? null,
        version: versions + 1,
        idempotencyKey,
      });
      await applyLabel(trx, itemId, {
        labelId: label.id,
        newAnnotator: versions === 0,
        overlap: project.overlap,
        releaseLeaseOf: decision.annotator,
      });
      return id;
    });
    return findAnnotation(this.db, annotationId);
  }

  private replay(earlier: AnnotationRecord, itemId: number, decision: LabelDecision): AnnotationRecord {
    if (earlier.itemId !== itemId || earlier.annotator !== decision.annotator || earlier.label !== decision.label) {
      throw new AppError(422, 'idempotency_key_reused', 'This Idempotency-Key was already used for a different decision');
    }
    return earlier;
  }
}
