/**
 * The background loop of one process: recovers jobs whose runner died, queues the rounds the
 * automatic loop is due for, and runs claimed jobs one at a time (training uses the worker
 * thread; two cores cannot train two models at once usefully). Several processes may run it
 * against one PostgreSQL: claims use `FOR UPDATE SKIP LOCKED` and one running job per project.
 */
import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import {
  claimJob,
  finishJob,
  heartbeat,
  type JobProgress,
  type JobRecord,
  projectsDueForRound,
  recoverStaleJobs,
  reportProgress,
} from '../repositories/job.repository.js';
import type { EventBus } from '../services/event-bus.js';
import { CancelledError, CancelSignal } from './ml-process.js';
import { CancelledWrite } from '../services/chunk-writers.js';
import type { JobControl, RoundRunner } from '../services/round-runner.js';
import type { RoundService } from '../services/round.service.js';

export interface JobRunnerOptions {
  /** How often to look for work when nothing nudges the runner. */
  pollMs?: number;
  /** A running job without a heartbeat for this long is taken to be orphaned. */
  staleSeconds?: number;
  heartbeatMs?: number;
  /** Minimum time between two progress writes of a job. */
  progressMs?: number;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

export class JobRunner {
  readonly name = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  private running: Promise<void> | undefined;
  private stopped = true;
  /** When a nudge during the running pass asked for the next one (Date.now()), if one did. */
  private nextPassAt: number | undefined;
  private readonly options: Required<JobRunnerOptions>;
  private unsubscribe: Array<() => void> = [];

  constructor(
    private readonly db: Kysely<Database>,
    private readonly rounds: RoundService,
    private readonly runner: RoundRunner,
    private readonly events: EventBus,
    options: JobRunnerOptions = {},
  ) {
    this.options = {
      pollMs: options.pollMs ?? 2_000,
      staleSeconds: options.staleSeconds ?? 30,
      heartbeatMs: options.heartbeatMs ?? 3_000,
      progressMs: options.progressMs ?? 250,
      log: options.log ?? ((message, fields) => console.error(message, fields ?? '')),
    };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribe = [
      // New labels may make a project due: look soon, but at most a few times a second.
      this.events.onLabelsStored(() => this.nudge(200)),
      // A round launched by hand, or a scoring run after a promotion, starts now, not at the next poll.
      this.events.onJobQueued(() => this.nudge(0)),
    ];
    this.nudge(0);
  }

  /** Stops claiming new jobs and waits for the current one to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.unsubscribe = [];
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Looks for work within `delayMs` (sooner than the poll interval); never postpones a pass already due. */
  nudge(delayMs = 0): void {
    if (this.stopped) return;
    if (this.running) {
      // What the nudge is about may have come after the pass looked: one more pass once this one
      // ends, but not sooner than asked, so that a steady stream of labels does not turn the
      // runner into a busy loop over the database.
      this.nextPassAt = Math.min(this.nextPassAt ?? Infinity, Date.now() + delayMs);
      return;
    }
    this.schedule(delayMs);
  }

  private schedule(delayMs: number): void {
    const due = Date.now() + delayMs;
    if (this.timer && this.timerDue <= due) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => this.tick(), delayMs);
  }

  /** One pass: recover, queue due rounds, run jobs until none is left. Exposed for tests. */
  async runOnce(): Promise<number> {
    let ran = 0;
    for (const recovered of await recoverStaleJobs(this.db, this.options.staleSeconds)) {
      this.options.log('recovered an orphaned job', recovered);
    }
    for (const projectId of await projectsDueForRound(this.db)) {
      await this.rounds.launch(projectId, {}, 'auto');
    }
    for (;;) {
      if (this.stopped && ran > 0) break;
      const job = await claimJob(this.db, this.name);
      if (!job) break;
      await this.execute(job);
      ran++;
    }
    return ran;
  }

  private tick(): void {
    this.timer = undefined;
    this.nextPassAt = undefined;
    this.running = this.runOnce()
      .then(
        () => undefined,
        (err: unknown) => this.options.log('job runner pass failed', { error: err instanceof Error ? err.stack : String(err) }),
      )
      .finally(() => {
        this.running = undefined;
        const delayMs = this.nextPassAt === undefined ? this.options.pollMs : Math.max(0, this.nextPassAt - Date.now());
        this.nextPassAt = undefined;
        if (!this.stopped) this.schedule(delayMs);
      });
  }

  private async execute(job: JobRecord): Promise<void> {
    const signal = new CancelSignal();
    let pending: JobProgress | undefined;
    let lastWrite = 0;
    let writing: Promise<void> = Promise.resolve();
    const flush = () => {
      const update = pending;
      pending = undefined;
      lastWrite = Date.now();
      writing = writing.then(async () => {
        const cancel = update ? await reportProgress(this.db, job.id, update) : await heartbeat(this.db, job.id);
        if (cancel) signal.cancel();
      });
      return writing;
    };
    const control: JobControl = {
      signal,
      report: (update) => {
        const log = [...(pending?.log ?? []), ...(update.log ?? [])];
        pending = { phase: update.phase, progress: update.progress, etaSeconds: update.etaSeconds, log };
        this.events.publish(job.projectId, {
          type: 'round',
          roundId: job.roundId,
          jobId: job.id,
          kind: job.kind,
          status: 'running',
          phase: update.phase,
          progress: update.progress,
          etaSeconds: update.etaSeconds,
          epoch: update.epoch,
        });
        if (Date.now() - lastWrite >= this.options.progressMs) void flush();
      },
    };
    const beating = setInterval(() => void flush(), this.options.heartbeatMs);
    let status: 'succeeded' | 'failed' | 'cancelled' = 'succeeded';
    let error: string | undefined;
    try {
      await this.runner.run(job, control);
    } catch (err) {
      if (err instanceof CancelledError || err instanceof CancelledWrite) {
        status = 'cancelled';
      } else {
        status = 'failed';
        error = err instanceof Error ? err.message : String(err);
        this.options.log('job failed', { jobId: job.id, kind: job.kind, error: err instanceof Error ? err.stack : error });
      }
    } finally {
      clearInterval(beating);
    }
    if (pending) await flush().catch(() => undefined);
    await writing.catch(() => undefined);
    await finishJob(this.db, job.id, status, error);
    this.events.publish(job.projectId, {
      type: 'round',
      roundId: job.roundId,
      jobId: job.id,
      kind: job.kind,
      status,
      phase: null,
      progress: status === 'succeeded' ? 1 : 0,
      etaSeconds: 0,
    });
  }
}
