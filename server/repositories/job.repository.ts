/**
 * Durable jobs. A runner claims the oldest queued job whose project has nothing running, with
 * `FOR UPDATE SKIP LOCKED`; the unique index on running jobs per project settles the race between
 * two runners claiming different jobs of one project at once.
 */
import { type Selectable, sql } from 'kysely';
import type { Executor, JobKind, JobStatus, JobTable } from '../db/schema.js';

export interface JobRecord {
  id: number;
  projectId: number;
  kind: JobKind;
  roundId: number;
  status: JobStatus;
  phase: string | null;
  progress: number;
  etaSeconds: number | null;
  log: unknown[];
  attempts: number;
  maxAttempts: number;
  error: string | null;
  cancelRequested: boolean;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

type JobRow = Selectable<JobTable>;

function toJob(row: JobRow): JobRecord {
  return {
    id: row.job_id,
    projectId: row.project_id,
    kind: row.kind,
    roundId: row.round_id,
    status: row.status,
    phase: row.phase,
    progress: row.progress,
    etaSeconds: row.eta_seconds,
    log: row.log,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    error: row.error,
    cancelRequested: row.cancel_requested,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

/** Queues a job unless one of that kind is already queued for the project (answers undefined then). */
export async function enqueueJob(db: Executor, job: { projectId: number; kind: JobKind; roundId: number }): Promise<JobRecord | undefined> {
  const { rows } = await sql<JobRow>`
    insert into job (project_id, kind, round_id) values (${job.projectId}, ${job.kind}, ${job.roundId})
    on conflict (project_id, kind) where status = 'queued' do nothing
    returning *`.execute(db);
  return rows[0] && toJob(rows[0]);
}

export async function findQueuedJob(db: Executor, projectId: number, kind: JobKind): Promise<JobRecord | undefined> {
  const row = await db
    .selectFrom('job')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('kind', '=', kind)
    .where('status', '=', 'queued')
    .executeTakeFirst();
  return row && toJob(row);
}

/** The newest job of each given round. */
export async function latestJobsOfRounds(db: Executor, roundIds: readonly number[]): Promise<Map<number, JobRecord>> {
  if (roundIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('job')
    .selectAll()
    .where('round_id', 'in', roundIds)
    .where('kind', '=', 'round')
    .orderBy('job_id')
    .execute();
  return new Map(rows.map((row) => [row.round_id, toJob(row)]));
}

/** Claims the oldest runnable job for `worker`; undefined when there is none. */
export async function claimJob(db: Executor, worker: string): Promise<JobRecord | undefined> {
  try {
    const { rows } = await sql<JobRow>`
      update job set status = 'running', worker = ${worker}, attempts = attempts + 1,
        started_at = now(), heartbeat_at = now(), progress = 0, phase = null, eta_seconds = null, error = null
      where job_id = (
        select j.job_id from job j
        where j.status = 'queued'
          and not exists (select 1 from job r where r.project_id = j.project_id and r.status = 'running')
        order by j.job_id
        limit 1
        for update skip locked)
      returning *`.execute(db);
    return rows[0] && toJob(rows[0]);
  } catch (err) {
    // Another runner started a job of the same project in the meantime.
    if ((err as { code?: string }).code === '23505') return undefined;
    throw err;
  }
}

export interface JobProgress {
  phase: string;
  progress: number;
  etaSeconds: number | null;
  /** Entries appended to the job's log. */
  log?: unknown[];
}

/** Records progress and a heartbeat; answers whether a cancel was requested meanwhile. */
export async function reportProgress(db: Executor, jobId: number, update: JobProgress): Promise<boolean> {
  const row = await db
    .updateTable('job')
    .set({
      phase: update.phase,
      progress: update.progress,
      eta_seconds: update.etaSeconds,
      heartbeat_at: sql`now()`,
      ...(update.log && update.log.length > 0 && { log: sql`log || ${JSON.stringify(update.log)}::jsonb` }),
    })
    .where('job_id', '=', jobId)
    .returning('cancel_requested')
    .executeTakeFirst();
  return row?.cancel_requested ?? true;
}

/** Keeps a running job from looking orphaned; answers whether a cancel was requested. */
export async function heartbeat(db: Executor, jobId: number): Promise<boolean> {
  const row = await db
    .updateTable('job')
    .set({ heartbeat_at: sql`now()` })
    .where('job_id', '=', jobId)
    .returning('cancel_requested')
    .executeTakeFirst();
  return row?.cancel_requested ?? true;
}

export async function finishJob(db: Executor, jobId: number, status: 'succeeded' | 'failed' | 'cancelled', error?: string): Promise<void> {
  await db
    .updateTable('job')
    .set({
      status,
      error: error ?? null,
      finished_at: sql`now()`,
      ...(status === 'succeeded' && { progress: 1, eta_seconds: 0 }),
    })
    .where('job_id', '=', jobId)
    .execute();
}

/** Cancels a queued job at once; a running one is asked to stop. Answers the job's status after. */
export async function requestCancel(db: Executor, jobId: number): Promise<JobStatus | undefined> {
  const { rows } = await sql<{ status: JobStatus }>`
    update job set
      cancel_requested = true,
      status = case when status = 'queued' then 'cancelled' else status end,
      finished_at = case when status = 'queued' then now() else finished_at end
    where job_id = ${jobId}
    returning status`.execute(db);
  return rows[0]?.status;
}

/**
 * Jobs whose runner stopped sending heartbeats (a crash or a restart): queued again if they have
 * an attempt left, else failed. Answers the jobs it touched.
 */
export async function recoverStaleJobs(db: Executor, staleSeconds: number): Promise<Array<{ id: number; status: JobStatus }>> {
  const { rows } = await sql<{ job_id: number; status: JobStatus }>`
    update job set
      status = case when attempts < max_attempts and not cancel_requested then 'queued'
                    when cancel_requested then 'cancelled' else 'failed' end,
      error = 'the runner stopped while the job was running (server restart or crash)',
      worker = null,
      finished_at = case when attempts < max_attempts and not cancel_requested then null else now() end
    where status = 'running' and heartbeat_at < now() - make_interval(secs => ${staleSeconds})
    returning job_id, status`.execute(db);
  return rows.map((r) => ({ id: r.job_id, status: r.status }));
}

/**
 * Projects whose automatic loop is due: at least `retrain_every` labels newer than the last
 * round's watermark, and no round queued or running.
 */
export async function projectsDueForRound(db: Executor): Promise<number[]> {
  const { rows } = await sql<{ project_id: number }>`
    select p.project_id from project p
    where p.retrain_every > 0
      and not exists (select 1 from job j where j.project_id = p.project_id and j.kind = 'round' and j.status in ('queued', 'running'))
      and (select count(*) from (
             select 1 from annotation a
             where a.project_id = p.project_id
               and a.annotation_id > coalesce((select max(r.label_watermark) from round r where r.project_id = p.project_id), 0)
             limit p.retrain_every) recent) >= p.retrain_every`.execute(db);
  return rows.map((r) => r.project_id);
}
