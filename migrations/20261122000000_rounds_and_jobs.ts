import { type Kysely, sql } from 'kysely';

/**
 * Retraining rounds, the model registry and durable jobs.
 *
 * - `round`: one training run of a project: its exact training and holdout labels, the model
 *   artifact, timings and holdout metrics. `project.promoted_round_id` names the model that serves
 *   suggestions and orders the queue.
 * - `job`: work a runner claims with `FOR UPDATE SKIP LOCKED` (training rounds, scoring runs).
 *   At most one queued job per project and kind (concurrent triggers collapse into it) and at most
 *   one running job per project, both enforced by unique partial indexes.
 * - `item.priority`: the queue's order. A scoring run writes `job_id · 4 + p` (p in [0, 3]), so
 *   every item it has scored outranks every item an earlier run scored: the queue follows the new
 *   model from the first committed chunk, without one long transaction locking the pool.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('project')
    .addColumn('retrain_every', 'integer', (col) => col.notNull().defaultTo(25))
    .addColumn('strategy', 'text', (col) => col.notNull().defaultTo('kmeans-margin'))
    .addColumn('model', 'text', (col) => col.notNull().defaultTo('softmax'))
    .addColumn('promotion', 'text', (col) =>
      col.notNull().defaultTo('if-better').check(sql`promotion in ('always', 'never', 'if-better')`),
    )
    .addColumn('promoted_round_id', 'integer')
    .execute();

  await db.schema
    .createTable('round')
    .addColumn('round_id', 'integer', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('project_id', 'integer', (col) => col.notNull().references('project.project_id').onDelete('cascade'))
    .addColumn('number', 'integer', (col) => col.notNull())
    .addColumn('trigger', 'text', (col) => col.notNull().check(sql`trigger in ('auto', 'manual')`))
    .addColumn('strategy', 'text', (col) => col.notNull())
    .addColumn('model', 'text', (col) => col.notNull())
    .addColumn('params', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('seed', 'integer', (col) => col.notNull())
    // Newest annotation the round saw; the automatic loop counts new labels from here.
    .addColumn('label_watermark', 'integer')
    // The exact training and evaluation sets: parallel arrays of item and label ids.
    .addColumn('train_item_ids', sql`integer[]`)
    .addColumn('train_label_ids', sql`integer[]`)
    .addColumn('holdout_item_ids', sql`integer[]`)
    .addColumn('holdout_label_ids', sql`integer[]`)
    .addColumn('metrics', 'jsonb')
    .addColumn('comparison', 'jsonb')
    .addColumn('timings', 'jsonb')
    .addColumn('artifact_json', 'text')
    .addColumn('artifact_weights', 'bytea')
    .addColumn('promoted_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addUniqueConstraint('round_project_number_key', ['project_id', 'number'])
    .execute();

  await db.schema
    .alterTable('project')
    .addForeignKeyConstraint('project_promoted_round_fkey', ['promoted_round_id'], 'round', ['round_id'])
    .execute();

  await db.schema
    .createTable('job')
    .addColumn('job_id', 'integer', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('project_id', 'integer', (col) => col.notNull().references('project.project_id').onDelete('cascade'))
    .addColumn('kind', 'text', (col) => col.notNull().check(sql`kind in ('round', 'score')`))
    .addColumn('round_id', 'integer', (col) => col.notNull().references('round.round_id').onDelete('cascade'))
    .addColumn('status', 'text', (col) =>
      col.notNull().defaultTo('queued').check(sql`status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')`),
    )
    .addColumn('phase', 'text')
    .addColumn('progress', 'real', (col) => col.notNull().defaultTo(0))
    .addColumn('eta_seconds', 'real')
    .addColumn('log', 'jsonb', (col) => col.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (col) => col.notNull().defaultTo(2))
    .addColumn('error', 'text')
    .addColumn('cancel_requested', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('worker', 'text')
    .addColumn('heartbeat_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await sql`create unique index job_one_queued_idx on job (project_id, kind) where status = 'queued'`.execute(db);
  await sql`create unique index job_one_running_idx on job (project_id) where status = 'running'`.execute(db);
  await sql`create index job_claim_idx on job (job_id) where status in ('queued', 'running')`.execute(db);
  await db.schema.createIndex('job_round_idx').on('job').columns(['round_id', 'job_id']).execute();

  await db.schema.createIndex('annotation_project_idx').on('annotation').columns(['project_id', 'annotation_id']).execute();

  await db.schema.alterTable('item').addColumn('priority', 'double precision').execute();
  await sql`drop index item_queue_idx`.execute(db);
  await sql`create index item_queue_idx on item (project_id, priority desc nulls last, random_key)
    where open and not holdout`.execute(db);
  await replaceLeaseNextItems(db, 'priority');
}

export async function down(db: Kysely<any>): Promise<void> {
  await replaceLeaseNextItems(db, 'score');
  await sql`drop index item_queue_idx`.execute(db);
  await sql`create index item_queue_idx on item (project_id, score desc nulls last, random_key)
    where open and not holdout`.execute(db);
  await db.schema.alterTable('item').dropColumn('priority').execute();
  await db.schema.dropIndex('annotation_project_idx').execute();
  await db.schema.dropTable('job').execute();
  await db.schema.alterTable('project').dropConstraint('project_promoted_round_fkey').execute();
  await db.schema.dropTable('round').execute();
  await db.schema
    .alterTable('project')
    .dropColumn('retrain_every')
    .dropColumn('strategy')
    .dropColumn('model')
    .dropColumn('promotion')
    .dropColumn('promoted_round_id')
    .execute();
}

/** The queue's pick (see 20261121030000_queue_functions) ordered by the given column. */
async function replaceLeaseNextItems(db: Kysely<any>, orderColumn: 'priority' | 'score'): Promise<void> {
  await sql`
    create or replace function lease_next_items(p_project int, p_annotator text, p_priority int, p_holdout int,
                                                p_exclude_own boolean, p_seconds int)
    returns table (item_id int, lease_expires_at timestamptz)
    language plpgsql as $$
    #variable_conflict use_column
    begin
      return query
      with by_priority as (
        select i.item_id from item i
        where i.project_id = p_project and i.open and not i.holdout
          and (i.lease_expires_at is null or i.lease_expires_at < now())
          and not exists (select 1 from skip s where s.item_id = i.item_id and s.annotator = p_annotator)
          and (not p_exclude_own or not exists (
            select 1 from annotation a where a.item_id = i.item_id and a.annotator = p_annotator))
        order by i.${sql.raw(orderColumn)} desc nulls last, i.random_key
        limit p_priority
        for update of i skip locked
      ), by_chance as (
        select i.item_id from item i
        where i.project_id = p_project and i.open and i.holdout
          and (i.lease_expires_at is null or i.lease_expires_at < now())
          and not exists (select 1 from skip s where s.item_id = i.item_id and s.annotator = p_annotator)
          and (not p_exclude_own or not exists (
            select 1 from annotation a where a.item_id = i.item_id and a.annotator = p_annotator))
        order by i.random_key
        limit p_holdout
        for update of i skip locked
      )
      , leased as (
        update item i set lease_annotator = p_annotator, lease_expires_at = now() + make_interval(secs => p_seconds)
        where i.item_id in (select b.item_id from by_priority b union all select c.item_id from by_chance c)
        returning i.item_id, i.lease_expires_at
      ), recorded as (
        insert into lease as l (item_id, project_id, annotator, expires_at)
        select x.item_id, p_project, p_annotator, x.lease_expires_at from leased x
        on conflict (item_id) do update set annotator = excluded.annotator, expires_at = excluded.expires_at
      )
      select x.item_id, x.lease_expires_at from leased x;
    end $$`.execute(db);
}
