import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { NotFoundError } from '../errors.js';
import { annotatorProgress } from '../repositories/annotation.repository.js';
import { findItemRef } from '../repositories/item.repository.js';
import {
  countOpenItems,
  insertSkip,
  type LeasedItem,
  type QueueRequest,
  queueNext,
  releaseLease,
  renewLeases,
} from '../repositories/queue.repository.js';
import { Batcher } from './batcher.js';
import type { ProjectService } from './project.service.js';

export interface QueuePick extends LeasedItem {
  reason: { strategy: string; score: number | null; holdout: boolean };
}

/** What a queue pick is called before any model has scored the pool. */
export const coldStartStrategy = 'cold-start (random)';

export class QueueService {
  /**
   * Calls for items that arrive while a pick runs wait for it and then go to the database together,
   * in one statement (see queueNext): a pick costs PostgreSQL about 0.49 ms however few items it
   * takes, plus 0.05 ms per item, so calls of five items spent two thirds of their time on the call
   * itself. Annotate benchmark on 2 cores, 20 s runs alternated with calls sent one by one (7
   * pairs): 1,987–2,690 against 1,622–2,622 labels/s, higher in every pair; 558–784 against
   * 624–1,024 µs of CPU per label; p99 of annotations 32.9–40.0 against 36.2–56.0 ms, of queue/next
   * 42.9–65.1 against 34.4–57.1 ms (a call now waits for the pick before it). One pick at a time
   * then: two at a time, each taking whatever waited, answered fewer labels, with more CPU each (but
   * see the split below). Since the database answers the waiting calls all at once rather than one
   * after another (12 pairs more): 1,772–2,946 against 1,727–2,677 labels/s, higher in 8 pairs; p99
   * of queue/next 35.6–58.7 against 41.8–68.1 ms, lower in 11; of annotations 29.5–46.7 against
   * 33.9–47.7 ms, lower in 10.
   *
   * Two picks at a time, with the calls of one turn of the event loop split between them. Calls come
   * in bursts (a batch of labels answers up to twenty annotators at once, and those who are done
   * with their items ask for more together): one pick took them all, 16 calls or more in an eighth
   * of the picks, for about 10 ms against 1.2 ms for a lone call, and the calls behind it waited for
   * it and then made the next large pick. An annotator's calls that wait together stay in one pick,
   * so that the second gets back what the first leased. Annotate benchmark, 20 s runs alternated
   * with one pick at a time (6 pairs): p99 of queue/next 18.3–28.9 against 24.6–35.7 ms, lower in
   * every pair; of annotations 19.4–30.1 against 19.3–29.0 ms; labels/s about the same (2,683–3,926
   * against 2,840–3,905); CPU per label outside the server (PostgreSQL, kernel) 7 % higher. Either
   * half alone did not help (2 runs each: 34.8–35.5 ms splitting nothing, 38.1–38.4 ms splitting
   * calls without waiting for the turn's others).
   */
  private readonly picks: Batcher<QueueRequest, LeasedItem[] | undefined>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly projects: ProjectService,
  ) {
    this.picks = new Batcher((requests) => queueNext(db, requests), { maxInFlight: 2, keyOf: (request) => request.annotator });
  }

  /**
   * Hands the annotator up to `n` items: first those they already hold, then new leases. Each
   * new pick is, with the project's holdout share, a uniformly random holdout item (an honest
   * evaluation sample), else the next item in the promoted model's priority order.
   */
  async next(projectId: number, annotator: string, n: number): Promise<QueuePick[]> {
    const items = await this.picks.call({ projectId, annotator, n });
    if (!items) throw new NotFoundError(`Project ${projectId}`);
    return interleave(items).map((item) => ({ ...item, reason: reasonFor(item) }));
  }

  async skip(itemId: number, annotator: string): Promise<void> {
    await this.requireItem(itemId);
    await this.db.transaction().execute(async (trx) => {
      await insertSkip(trx, itemId, annotator);
      await releaseLease(trx, itemId, annotator);
    });
  }

  async release(itemId: number, annotator: string): Promise<void> {
    await this.requireItem(itemId);
    await releaseLease(this.db, itemId, annotator);
  }

  async renew(projectId: number, annotator: string) {
    const project = await this.projects.require(projectId);
    return renewLeases(this.db, projectId, annotator, project.leaseSeconds);
  }

  /** The annotator's labels (today's from `dayStart`, default the database's midnight) and the open items left. */
  async progress(projectId: number, annotator: string, dayStart?: Date) {
    await this.projects.require(projectId);
    const [mine, remaining] = await Promise.all([
      annotatorProgress(this.db, projectId, annotator, dayStart),
      countOpenItems(this.db, projectId, annotator),
    ]);
    return { ...mine, remaining };
  }

  private async requireItem(itemId: number): Promise<void> {
    if (!(await findItemRef(this.db, itemId))) throw new NotFoundError(`Item ${itemId}`);
  }
}

function reasonFor(item: LeasedItem): QueuePick['reason'] {
  if (item.holdout) return { strategy: 'random audit', score: null, holdout: true };
  if (item.score === null) return { strategy: coldStartStrategy, score: null, holdout: false };
  return { strategy: item.scoreStrategy ?? 'model', score: item.score, holdout: false };
}

/** Priority picks in queue order, with the holdout picks spread evenly among them so audits do not clump. */
function interleave(items: LeasedItem[]): LeasedItem[] {
  const holdout = items.filter((i) => i.holdout);
  const out = items.filter((i) => !i.holdout).sort((a, b) => (b.priority ?? -Infinity) - (a.priority ?? -Infinity));
  holdout.forEach((item, h) => out.splice(Math.round(((h + 1) * items.length) / (holdout.length + 1)), 0, item));
  return out;
}
