import { type Kysely, type RawBuilder, sql } from 'kysely';

/**
 * The queue's two statements stop being planned on every call.
 *
 * - The pick inside `lease_next_items` takes its LIMIT from a parameter. A plan made without the
 *   parameter's value assumes a tenth of the project and looks a million times dearer than any
 *   plan made with it, so PostgreSQL planned the pick afresh on every call: 0.4 ms of planning
 *   for 0.3 ms of work. The plan is the same whatever the value (walk the queue index, stop after
 *   n), so the function now keeps its first plan (`plan_cache_mode = force_generic_plan`), with
 *   JIT compilation off, which that plan's inflated cost estimate would otherwise trigger
 *   (hundreds of milliseconds for a sub-millisecond pick).
 * - "Not an item this annotator labeled already" (projects with several labels per item) is now a
 *   branch of its own instead of `not p_exclude_own or not exists (…)`: a plan kept for both cases
 *   would read every annotation of the annotator for that condition.
 * - The server's call (`queue_next` joined with the items' content and suggestion) was a statement
 *   planned on every call as well; `queue_next_items` runs it inside PL/pgSQL, where its plan is kept.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await replaceLeaseNextItems(db, 'branch');
  await sql`
    create function queue_next_items(p_project int, p_annotator text, p_n int)
    returns table (item_id int, external_id text, text text, features jsonb, image text, holdout boolean,
                   score real, priority float8, score_strategy text, score_round_id int,
                   suggestion_label text, suggestion_confidence real, lease_expires_at timestamptz)
    language plpgsql as $$
    #variable_conflict use_column
    begin
      -- The lease expiry comes from queue_next: this statement's snapshot predates its update.
      return query
      select i.item_id, i.external_id, i.text, i.features, i.image, i.holdout, i.score, i.priority, i.score_strategy,
             i.score_round_id, sl.name, i.suggestion_confidence, q.lease_expires_at
      from queue_next(p_project, p_annotator, p_n) with ordinality as q(item_id, lease_expires_at, position)
      join item i on i.item_id = q.item_id
      left join label sl on sl.label_id = i.suggestion_label_id
      order by q.position;
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function queue_next_items(int, text, int)`.execute(db);
  await replaceLeaseNextItems(db, 'one condition');
}

/**
 * The pick of 20261123010000_leased_items_leave_the_queue, with "not labeled by this annotator"
 * either as its own branch, keeping its plans, or folded into one condition, as it was (replacing
 * the function also replaces its settings).
 */
async function replaceLeaseNextItems(db: Kysely<any>, excludeOwn: 'branch' | 'one condition'): Promise<void> {
  const notOwn = sql`not exists (select 1 from annotation a where a.item_id = i.item_id and a.annotator = p_annotator)`;
  const branch = excludeOwn === 'branch';
  const body = branch
    ? sql`
      if p_exclude_own then
        return query ${leaseQuery(sql`and ${notOwn}`)};
      else
        return query ${leaseQuery(sql``)};
      end if;`
    : sql`return query ${leaseQuery(sql`and (not p_exclude_own or ${notOwn})`)};`;
  await sql`
    create or replace function lease_next_items(p_project int, p_annotator text, p_priority int, p_holdout int,
                                                p_exclude_own boolean, p_seconds int)
    returns table (item_id int, lease_expires_at timestamptz)
    language plpgsql ${branch ? sql`set plan_cache_mode = force_generic_plan set jit = off` : sql``} as $$
    #variable_conflict use_column
    begin
      ${body}
    end $$`.execute(db);
}

/** Leases up to p_priority items by priority and p_holdout random holdout items; `own` narrows both picks. */
function leaseQuery(own: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`
      with by_priority as (
        select i.item_id from item i
        where i.project_id = p_project and i.open and not i.holdout and i.lease_annotator is null
          and not exists (select 1 from skip s where s.item_id = i.item_id and s.annotator = p_annotator)
          ${own}
        order by i.priority desc nulls last, i.random_key
        limit p_priority
        for update of i skip locked
      ), by_chance as (
        select i.item_id from item i
        where i.project_id = p_project and i.open and i.holdout and i.lease_annotator is null
          and not exists (select 1 from skip s where s.item_id = i.item_id and s.annotator = p_annotator)
          ${own}
        order by i.random_key
        limit p_holdout
        for update of i skip locked
      ), leased as (
        update item i set lease_annotator = p_annotator, lease_expires_at = now() + make_interval(secs => p_seconds)
        where i.item_id in (select b.item_id from by_priority b union all select c.item_id from by_chance c)
        returning i.item_id, i.lease_expires_at
      ), recorded as (
        insert into lease as l (item_id, project_id, annotator, expires_at)
        select x.item_id, p_project, p_annotator, x.lease_expires_at from leased x
        on conflict (item_id) do update set annotator = excluded.annotator, expires_at = excluded.expires_at
      )
      select x.item_id, x.lease_expires_at from leased x`;
}
