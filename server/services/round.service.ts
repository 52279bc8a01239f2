/**
 * Retraining rounds as users see them: launch (or let the automatic loop launch), list with
 * metrics and progress, promote (or roll back to) a round's model, cancel.
 */
import type { Kysely } from 'kysely';
import type { Database, JobStatus } from '../db/schema.js';
import { ConflictError, NotFoundError } from '../errors.js';
import {
  enqueueJob,
  findQueuedJob,
  type JobRecord,
  latestJobsOfRounds,
  requestCancel,
} from '../repositories/job.repository.js';
import { setAuditActor } from '../repositories/audit.repository.js';
import { lockProject, setPromotedRound } from '../repositories/project.repository.js';
import {
  hasArtifact,
  findRound,
  insertRound,
  listRounds,
  markPromoted,
  type RoundRecord,
} from '../repositories/round.repository.js';
import type { EventBus } from './event-bus.js';
import type { ProjectService } from './project.service.js';

export interface RoundOptions {
  strategy?: string;
  model?: string;
  params?: Record<string, unknown>;
}

export interface Round extends RoundRecord {
  /** The round's newest job (null for none). */
  jobId: number | null;
  status: JobStatus;
  phase: string | null;
  progress: number;
  etaSeconds: number | null;
  log: unknown[];
  error: string | null;
  promoted: boolean;
}

/** Thrown inside the launch transaction to roll back a round whose job collapsed into a queued one. */
class Collapsed extends Error {}

export class RoundService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly projects: ProjectService,
    private readonly events: EventBus,
  ) {}

  /**
   * Queues a round with the project's settings, overridden by `options`. While a round of the
   * project is already queued, every further trigger collapses into it (answered with
   * `collapsed: true`).
   */
  async launch(projectId: number, options: RoundOptions, trigger: 'auto' | 'manual'): Promise<{ round: Round; collapsed: boolean }> {
    const project = await this.projects.require(projectId);
    try {
      const roundId = await this.db.transaction().execute(async (trx) => {
        // Launches of one project take turns, so round numbers never collide.
        await lockProject(trx, projectId);
        const round = await insertRound(trx, {
          projectId,
          trigger,
          strategy: options.strategy ?? project.strategy,
          model: options.model ?? project.model,
          params: options.params ?? {},
        });
        const job = await enqueueJob(trx, { projectId, kind: 'round', roundId: round.id });
        if (!job) throw new Collapsed();
        return round.id;
      });
      this.events.jobQueued();
      const round = await this.get(projectId, roundId);
      this.events.publish(projectId, roundEvent(round));
      return { round, collapsed: false };
    } catch (err) {
      if (!(err instanceof Collapsed)) throw err;
      const queued = await findQueuedJob(this.db, projectId, 'round');
      // The queued round may have started in between; then this trigger starts a new one.
      if (!queued) return this.launch(projectId, options, trigger);
      return { round: await this.get(projectId, queued.roundId), collapsed: true };
    }
  }

  async list(projectId: number): Promise<Round[]> {
    const project = await this.projects.require(projectId);
    const rounds = await listRounds(this.db, projectId);
    const jobs = await latestJobsOfRounds(
      this.db,
      rounds.map((r) => r.id),
    );
    return rounds.map((round) => withJob(round, jobs.get(round.id), project.promotedRoundId));
  }

  async get(projectId: number, roundId: number): Promise<Round> {
    const project = await this.projects.require(projectId);
    const round = await findRound(this.db, roundId);
    if (!round || round.projectId !== projectId) throw new NotFoundError(`Round ${roundId}`);
    const jobs = await latestJobsOfRounds(this.db, [roundId]);
    return withJob(round, jobs.get(roundId), project.promotedRoundId);
  }

  /**
   * Makes a finished round's model the one serving suggestions and ordering the queue (also to
   * roll back to an earlier round), then queues a scoring run of the pool with it.
   */
  async promote(projectId: number, roundId: number, actor = 'system'): Promise<Round> {
    const round = await this.get(projectId, roundId);
    if (!(await hasArtifact(this.db, roundId))) {
      throw new ConflictError('round_not_trained', `Round ${round.number} has no trained model (${round.status})`);
    }
    await this.db.transaction().execute(async (trx) => {
      // The audit trail records the promotion as the change of the project's promoted round.
      await setAuditActor(trx, actor);
      await setPromotedRound(trx, projectId, roundId);
      await markPromoted(trx, roundId);
      // A queued scoring run scores with whatever model is promoted when it starts.
      await enqueueJob(trx, { projectId, kind: 'score', roundId });
    });
    this.events.jobQueued();
    const promoted = await this.get(projectId, roundId);
    this.events.publish(projectId, { type: 'metrics', roundId, metrics: promoted.metrics, promoted: true });
    return promoted;
  }

  /** Queues a scoring run with the promoted model, if there is one (e.g. after new items arrive). */
  async rescore(projectId: number): Promise<void> {
    const project = await this.projects.require(projectId);
    if (project.promotedRoundId === null) return;
    if (await enqueueJob(this.db, { projectId, kind: 'score', roundId: project.promotedRoundId })) this.events.jobQueued();
  }

  /** Stops a queued round at once, a running one at its next epoch or scoring chunk. */
  async cancel(projectId: number, roundId: number): Promise<Round> {
    const round = await this.get(projectId, roundId);
    if (round.jobId === null || (round.status !== 'queued' && round.status !== 'running')) {
      throw new ConflictError('round_not_active', `Round ${round.number} is ${round.status}; only queued or running rounds can be cancelled`);
    }
    await requestCancel(this.db, round.jobId);
    const after = await this.get(projectId, roundId);
    this.events.publish(projectId, roundEvent(after));
    return after;
  }
}

function withJob(round: RoundRecord, job: JobRecord | undefined, promotedRoundId: number | null): Round {
  return {
    ...round,
    jobId: job?.id ?? null,
    status: job?.status ?? 'succeeded',
    phase: job?.phase ?? null,
    progress: job?.progress ?? 1,
    etaSeconds: job?.etaSeconds ?? null,
    log: job?.log ?? [],
    error: job?.error ?? null,
    promoted: round.id === promotedRoundId,
  };
}

/** The event a status change of a round (queued, cancelled) is announced with. */
function roundEvent(round: Round) {
  return {
    type: 'round' as const,
    roundId: round.id,
    kind: 'round' as const,
    status: round.status,
    phase: round.phase,
    progress: round.progress,
    etaSeconds: round.etaSeconds,
  };
}
