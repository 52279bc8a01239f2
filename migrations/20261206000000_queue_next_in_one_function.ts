import { type Kysely, type RawBuilder, sql } from 'kysely';

/**
 * The annotator's two calls read the small tables by their indexes, and the call for more items
 * runs as one function.
 *
 * - Index scans always. A function keeps the plans it made on its first calls, when the `lease`
 *   table was small, and those read the whole table: the annotator's own leases, the expired leases
 *   and, when labels are stored, the leases to end. Every lease ended leaves a dead row behind until
 *   a vacuum, so after 100,000 labels each such read went through 400 pages, several per label
 *   (PostgreSQL's statement statistics over pgbench on the 1,000,000-item benchmark database:
 *   368 buffer reads per label before, 247 after; 792 against 957 transactions of five labels per
 *   second). The skip table was read whole in the same way. Every table these functions read has
 *   an index for what they look up, so they now plan without sequential scans.
 * - One function. Before, `queue_next_items` joined the items' content onto `queue_next`, which
 *   called `release_expired_leases` and then `lease_next_items` (a function with settings of its
 *   own, saved and restored on every call): ten statements and four function calls to lease five
 *   items. Each step is now one statement of `queue_next_items`, and the lease answers the items'
 *   content itself (pgbench, 1.0 ms → 0.89 ms for five items).
 *
 * What an annotator gets is unchanged: first the items they already hold, then new leases, each a
 * holdout item with the project's holdout share and else the next item by priority; when one of the
 * two queues runs short the other fills in. Expired leases of the project go back to the queue first.
 */
/** The functions that store labels; they read `lease` like the queue does. */
const labelFunctions = [
  'record_human_labels(int[], text[], text[], int[], text[])',
  'record_human_label(int, text, text, int, text)',
];

export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop function queue_next_items(int, text, int)`.execute(db);
  await sql`drop function queue_next(int, text, int)`.execute(db);
  await sql`drop function lease_next_items(int, text, int, int, boolean, int)`.execute(db);
  await sql`drop function release_expired_leases(int, int)`.execute(db);

  for (const fn of labelFunctions) await sql`alter function ${sql.raw(fn)} set enable_seqscan = off`.execute(db);

  const notOwn = sql`and not exists (select 1 from annotation a where a.item_id = i.item_id and a.annotator = p_annotator)`;
  await sql`
    create function queue_next_items(p_project int, p_annotator text, p_n int)
    returns table (item_id int, external_id text, text text, features jsonb, image text, holdout boolean,
                   score real, priority float8, score_strategy text, score_round_id int,
                   suggestion_label text, suggestion_confidence real, lease_expires_at timestamptz)
    language plpgsql set plan_cache_mode = force_generic_plan set jit = off set enable_seqscan = off as $$
    #variable_conflict use_column
    declare
      v_share float8; v_overlap int; v_seconds int; v_got int; v_wanted int; v_holdout int;
      v_by_priority int; v_by_chance int;
    begin
      select p.holdout_share, p.overlap, p.lease_seconds into v_share, v_overlap, v_seconds
      from project p where p.project_id = p_project;
      if not found then
        raise exception 'project % not found', p_project using errcode = 'no_data_found';
      end if;
      -- A lease lost in a crash only returns its item to the queue early, so its commit need not
      -- wait for the disk; labels are always committed synchronously.
      perform set_config('synchronous_commit', 'off', true);

      return query
        select i.item_id, i.external_id, i.text, i.features, i.image, i.holdout, i.score, i.priority, i.score_strategy,
               i.score_round_id, sl.name, i.suggestion_confidence, i.lease_expires_at
        from lease l
        join item i on i.item_id = l.item_id and i.lease_annotator = l.annotator
        left join label sl on sl.label_id = i.suggestion_label_id
        where l.project_id = p_project and l.annotator = p_annotator and i.lease_expires_at > now() and i.open
        order by i.lease_expires_at, l.item_id
        limit p_n;
      get diagnostics v_got = row_count;
      v_wanted := p_n - v_got;
      if v_wanted <= 0 then
        return;
      end if;

      -- Expired leases of the project go back to the queue, skipping rows another transaction holds.
      with expired as (
        select i.item_id from lease l join item i on i.item_id = l.item_id
        where l.project_id = p_project and l.expires_at < now() and i.lease_expires_at < now()
        limit 100
        for update of i skip locked
      ), cleared as (
        update item i set lease_annotator = null, lease_expires_at = null
        from expired e where i.item_id = e.item_id
      )
      delete from lease l using expired e where l.item_id = e.item_id;

      -- The drawn mix first; then whichever queue still has items fills what is missing.
      select count(*) into v_holdout from generate_series(1, v_wanted) where random() < v_share;
      for v_round in 1..3 loop
        if v_round = 1 then
          v_by_priority := v_wanted - v_holdout; v_by_chance := v_holdout;
        elsif v_round = 2 then
          v_by_priority := v_wanted; v_by_chance := 0;
        else
          v_by_priority := 0; v_by_chance := v_wanted;
        end if;
        -- "Not an item this annotator labeled already" (several labels per item) is a branch of its
        -- own: a plan kept for both cases would read all of the annotator's labels.
        if v_overlap > 1 then
          return query ${leaseQuery(notOwn)};
        else
          return query ${leaseQuery(sql``)};
        end if;
        get diagnostics v_got = row_count;
        v_wanted := v_wanted - v_got;
        exit when v_wanted <= 0;
      end loop;
    end $$`.execute(db);
}

/**
 * Leases up to v_by_priority items by priority and v_by_chance random holdout items, and answers
 * them with their content; `own` narrows both picks.
 */
function leaseQuery(own: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`
          with by_priority as (
            select i.item_id from item i
            where i.project_id = p_project and i.open and not i.holdout and i.lease_annotator is null
              and not exists (select 1 from skip s where s.item_id = i.item_id and s.annotator = p_annotator)
              ${own}
            order by i.priority desc nulls last, i.random_key
            limit v_by_priority
            for update of i skip locked
          ), by_chance as (
            select i.item_id from item i
            where i.project_id = p_project and i.open and i.holdout and i.lease_annotator is null
              and not exists (select 1 from skip s where s.item_id = i.item_id and s.annotator = p_annotator)
              ${own}
            order by i.random_key
            limit v_by_chance
            for update of i skip locked
          ), leased as (
            update item i set lease_annotator = p_annotator, lease_expires_at = now() + make_interval(secs => v_seconds)
            where i.item_id in (select b.item_id from by_priority b union all select c.item_id from by_chance c)
            returning i.item_id, i.external_id, i.text, i.features, i.image, i.holdout, i.score, i.priority, i.score_strategy,
                      i.score_round_id, i.suggestion_label_id, i.suggestion_confidence, i.lease_expires_at
          ), recorded as (
            insert into lease as l (item_id, project_id, annotator, expires_at)
            select x.item_id, p_project, p_annotator, x.lease_expires_at from leased x
            on conflict (item_id) do update set annotator = excluded.annotator, expires_at = excluded.expires_at
          )
          select x.item_id, x.external_id, x.text, x.features, x.image, x.holdout, x.score, x.priority, x.score_strategy,
                 x.score_round_id, sl.name, x.suggestion_confidence, x.lease_expires_at
          from leased x left join label sl on sl.label_id = x.suggestion_label_id`;
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const fn of labelFunctions) await sql`alter function ${sql.raw(fn)} reset enable_seqscan`.execute(db);
  await sql`drop function queue_next_items(int, text, int)`.execute(db);
  await restoreChainedFunctions(db);
}

/**
 * The functions this migration replaced, as 20261123010000_leased_items_leave_the_queue and
 * 20261125000000_queue_plans_cached left them.
 */
async function restoreChainedFunctions(db: Kysely<any>): Promise<void> {
  await sql`
    create function release_expired_leases(p_project int, p_limit int) returns int
    language plpgsql as $$
    #variable_conflict use_column
    declare
      v_released int;
    begin
      with expired as (
        select i.item_id from lease l join item i on i.item_id = l.item_id
        where l.project_id = p_project and l.expires_at < now() and i.lease_expires_at < now()
        limit p_limit
        for update of i skip locked
      ), cleared as (
        update item i set lease_annotator = null, lease_expires_at = null
        from expired e where i.item_id = e.item_id
      )
      delete from lease l using expired e where l.item_id = e.item_id;
      get diagnostics v_released = row_count;
      return v_released;
    end $$`.execute(db);

  const notOwn = sql`and not exists (select 1 from annotation a where a.item_id = i.item_id and a.annotator = p_annotator)`;
  const chainedLease = (own: RawBuilder<unknown>) => sql`
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
  await sql`
    create function lease_next_items(p_project int, p_annotator text, p_priority int, p_holdout int,
                                     p_exclude_own boolean, p_seconds int)
    returns table (item_id int, lease_expires_at timestamptz)
    language plpgsql set plan_cache_mode = force_generic_plan set jit = off as $$
    #variable_conflict use_column
    begin
      if p_exclude_own then
        return query ${chainedLease(notOwn)};
      else
        return query ${chainedLease(sql``)};
      end if;
    end $$`.execute(db);

  await sql`
    create function queue_next(p_project int, p_annotator text, p_n int)
    returns table (item_id int, lease_expires_at timestamptz)
    language plpgsql as $$
    #variable_conflict use_column
    declare
      v_share float8; v_overlap int; v_seconds int; v_got int; v_wanted int; v_holdout int;
    begin
      select p.holdout_share, p.overlap, p.lease_seconds into v_share, v_overlap, v_seconds
      from project p where p.project_id = p_project;
      if not found then
        raise exception 'project % not found', p_project using errcode = 'no_data_found';
      end if;
      perform set_config('synchronous_commit', 'off', true);
      return query
        select l.item_id, i.lease_expires_at from lease l
        join item i on i.item_id = l.item_id and i.lease_annotator = l.annotator
        where l.project_id = p_project and l.annotator = p_annotator and i.lease_expires_at > now() and i.open
        order by i.lease_expires_at, l.item_id
        limit p_n;
      get diagnostics v_got = row_count;
      v_wanted := p_n - v_got;
      if v_wanted <= 0 then
        return;
      end if;
      perform release_expired_leases(p_project, 100);
      select count(*) into v_holdout from generate_series(1, v_wanted) where random() < v_share;
      return query select x.item_id, x.lease_expires_at
        from lease_next_items(p_project, p_annotator, v_wanted - v_holdout, v_holdout, v_overlap > 1, v_seconds) x;
      get diagnostics v_got = row_count;
      v_wanted := v_wanted - v_got;
      if v_wanted > 0 then
        return query select x.item_id, x.lease_expires_at
          from lease_next_items(p_project, p_annotator, v_wanted, 0, v_overlap > 1, v_seconds) x;
        get diagnostics v_got = row_count;
        v_wanted := v_wanted - v_got;
      end if;
      if v_wanted > 0 then
        return query select x.item_id, x.lease_expires_at
          from lease_next_items(p_project, p_annotator, 0, v_wanted, v_overlap > 1, v_seconds) x;
      end if;
    end $$`.execute(db);

  await sql`
    create function queue_next_items(p_project int, p_annotator text, p_n int)
    returns table (item_id int, external_id text, text text, features jsonb, image text, holdout boolean,
                   score real, priority float8, score_strategy text, score_round_id int,
                   suggestion_label text, suggestion_confidence real, lease_expires_at timestamptz)
    language plpgsql as $$
    #variable_conflict use_column
    begin
      return query
      select i.item_id, i.external_id, i.text, i.features, i.image, i.holdout, i.score, i.priority, i.score_strategy,
             i.score_round_id, sl.name, i.suggestion_confidence, q.lease_expires_at
      from queue_next(p_project, p_annotator, p_n) with ordinality as q(item_id, lease_expires_at, position)
      join item i on i.item_id = q.item_id
      left join label sl on sl.label_id = i.suggestion_label_id
      order by q.position;
    end $$`.execute(db);
}
