import { type Kysely, type RawBuilder, sql } from 'kysely';

/**
 * The annotator's two calls read the small tables by their indexes, picks start where the free
 * items start, and the call for more items runs as one function.
 *
 * - Index scans always. A function keeps the plans it made on its first calls, when the `lease`
 *   table was small, and those read the whole table: the annotator's own leases, the expired leases
 *   and, when labels are stored, the leases to end. Every lease ended leaves a dead row behind until
 *   a vacuum, so after 100,000 labels each such read went through 400 pages, several per label
 *   (PostgreSQL's statement statistics over pgbench on the 1,000,000-item benchmark database:
 *   368 buffer reads per label before, 247 after; 792 against 957 transactions of five labels per
 *   second). The skip table was read whole in the same way. Every table these functions read has
 *   an index for what they look up, so they now plan without sequential scans.
 * - The queue frontier. A pick walked its queue index from the head, and every item leased or
 *   labeled leaves a dead entry there until a vacuum of the item table: in the annotate benchmark a
 *   pick read 509 index and table pages for five items by the end of a run. Each project now has a
 *   frontier (`queue_frontier`): no open, unleased item lies before it in queue order. Picks read
 *   from it (222 pages in the same run), and about every tenth call moves it up to the first items
 *   still free (`advance_queue_frontier`).
 *   - Moving it up reads the first free items and the frontier in one snapshot, and writes only if
 *     no item came free since (same `epoch`) and nobody else is moving it. An item a running pick
 *     holds is still free in that snapshot, so a pick that rolls back hides nothing.
 *   - Whatever brings an item back moves the frontier back in the same transaction, by triggers on
 *     `item`: a lease released or expired, a label that leaves the item open, a reopened item or
 *     one moved between the two queues moves it back to that item; new items and new priorities
 *     (an import, a scoring run: many rows at a time) send it back to the start.
 *   - The priority queue's order, `priority desc nulls last, random_key`, is indexed as the
 *     ascending pair (-priority or +∞, random_key), so "from the frontier on" is one index range.
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
/**
 * An item's place in the priority queue's order (`priority desc nulls last`) as an ascending key:
 * the index, the pick and the frontier must all spell it alike for the index to serve them.
 */
const rankOf = (priority: RawBuilder<unknown>) => sql`coalesce(-${priority}, 'Infinity'::float8)`;
/** The key of item `i`, as the queue functions' picks spell it. */
export const rank = rankOf(sql`i.priority`);

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
  await createFrontier(db);

  await createQueueNextItems(db);
}

/** The function that answers a call for items, as this migration defines it (a later migration replaces it). */
export async function createQueueNextItems(db: Kysely<any>): Promise<void> {
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
      v_by_priority int; v_by_chance int; v_rank float8; v_random float8; v_holdout_from float8;
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
      ${releaseExpiredLeases(sql`p_project`)};

      -- Where the free items start, now that the expired leases are back; and how many holdout picks.
      select coalesce(f.rank, '-Infinity'), coalesce(f.random, '-Infinity'), coalesce(f.holdout_random, '-Infinity'),
             (select count(*) from generate_series(1, v_wanted) where random() < v_share)
        into v_rank, v_random, v_holdout_from, v_holdout
      from (select) one left join queue_frontier f on f.project_id = p_project;

      -- The drawn mix first; then whichever queue still has items fills what is missing.
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
      -- Every tenth call or so moves the frontier up past what has been leased since.
      if random() < 0.1 then
        perform advance_queue_frontier(p_project);
      end if;
    end $$`.execute(db);
}

/** The queue function's statement that returns up to 100 of `project`'s expired leases to the queue, skipping rows another transaction holds. */
export const releaseExpiredLeases = (project: RawBuilder<unknown>) => sql`
      with expired as (
        select i.item_id from lease l join item i on i.item_id = l.item_id
        where l.project_id = ${project} and l.expires_at < now() and i.lease_expires_at < now()
        limit 100
        for update of i skip locked
      ), cleared as (
        update item i set lease_annotator = null, lease_expires_at = null
        from expired e where i.item_id = e.item_id
      )
      delete from lease l using expired e where l.item_id = e.item_id`;

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
              and (${rank}, i.random_key) >= (v_rank, v_random)
              ${own}
            order by ${rank}, i.random_key
            limit v_by_priority
            for update of i skip locked
          ), by_chance as (
            select i.item_id from item i
            where i.project_id = p_project and i.open and i.holdout and i.lease_annotator is null
              and not exists (select 1 from skip s where s.item_id = i.item_id and s.annotator = p_annotator)
              and i.random_key >= v_holdout_from
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
  await dropFrontier(db);
  await restoreChainedFunctions(db);
}

/** Where each project's free items start in queue order (see the comment at the top of this file). */
async function createFrontier(db: Kysely<any>): Promise<void> {
  await sql`
    create table queue_frontier (
      project_id int primary key references project (project_id) on delete cascade,
      rank float8 not null default '-Infinity',
      random float8 not null default '-Infinity',
      holdout_random float8 not null default '-Infinity',
      epoch bigint not null default 0
    )`.execute(db);
  await sql`insert into queue_frontier (project_id) select project_id from project`.execute(db);
  // The row exists before the project has items, so every item that comes free finds it.
  await sql`
    create function queue_frontier_for_project() returns trigger language plpgsql as $$
    begin
      insert into queue_frontier (project_id) values (new.project_id);
      return null;
    end $$`.execute(db);
  await sql`create trigger project_queue_frontier after insert on project
    for each row execute function queue_frontier_for_project()`.execute(db);

  // An item came free (its lease ended, it reopened, it changed queue): the frontier moves back to it.
  await sql`
    create function queue_frontier_back_to_item() returns trigger language plpgsql as $$
    declare
      v_rank float8 := ${rankOf(sql`new.priority`)};
    begin
      if new.holdout then
        update queue_frontier f set holdout_random = least(f.holdout_random, new.random_key), epoch = f.epoch + 1
        where f.project_id = new.project_id;
      else
        update queue_frontier f set
          rank = case when (v_rank, new.random_key) < (f.rank, f.random) then v_rank else f.rank end,
          random = case when (v_rank, new.random_key) < (f.rank, f.random) then new.random_key else f.random end,
          epoch = f.epoch + 1
        where f.project_id = new.project_id;
      end if;
      return null;
    end $$`.execute(db);
  await sql`create trigger item_came_free after update of lease_annotator, open, holdout on item for each row
    when (new.open and new.lease_annotator is null
          and (old.lease_annotator is not null or not old.open or old.holdout <> new.holdout))
    execute function queue_frontier_back_to_item()`.execute(db);

  // New items, and new priorities (a scoring run, many rows at a time): the frontier starts over.
  await sql`
    create function queue_frontier_back_to_new_items() returns trigger language plpgsql as $$
    begin
      update queue_frontier f set rank = '-Infinity', random = '-Infinity', holdout_random = '-Infinity', epoch = f.epoch + 1
      where f.project_id in (select distinct n.project_id from new_items n where n.open and n.lease_annotator is null);
      return null;
    end $$`.execute(db);
  await sql`create trigger item_inserted_queue_frontier after insert on item
    referencing new table as new_items for each statement execute function queue_frontier_back_to_new_items()`.execute(db);
  await sql`
    create function queue_frontier_back_to_start() returns trigger language plpgsql as $$
    begin
      update queue_frontier f set rank = '-Infinity', random = '-Infinity', epoch = f.epoch + 1;
      return null;
    end $$`.execute(db);
  await sql`create trigger item_priority_queue_frontier after update of priority on item
    for each statement execute function queue_frontier_back_to_start()`.execute(db);

  // The queue's order, priority desc nulls last then random_key, as one ascending pair.
  await sql`drop index item_queue_idx`.execute(db);
  await sql`create index item_queue_idx on item (project_id, (${rankOf(sql`priority`)}), random_key)
    where open and not holdout and lease_annotator is null`.execute(db);

  /**
   * Moves the frontier up to the first free items. The frontier and those items are read in one
   * snapshot, and written only if no item came free since (same epoch) and nobody else is moving it.
   * An item a running pick holds is still free in that snapshot, so a pick that rolls back hides nothing.
   */
  await sql`
    create function advance_queue_frontier(p_project int) returns void
    language plpgsql set plan_cache_mode = force_generic_plan set jit = off set enable_seqscan = off as $$
    declare
      v_epoch bigint; v_rank float8; v_random float8; v_holdout float8;
    begin
      select f.epoch, p.rank, p.random_key, h.random_key into v_epoch, v_rank, v_random, v_holdout
      from queue_frontier f
      left join lateral (
        select ${rank} as rank, i.random_key from item i
        where i.project_id = f.project_id and i.open and not i.holdout and i.lease_annotator is null
          and (${rank}, i.random_key) >= (f.rank, f.random)
        order by ${rank}, i.random_key
        limit 1
      ) p on true
      left join lateral (
        select i.random_key from item i
        where i.project_id = f.project_id and i.open and i.holdout and i.lease_annotator is null
          and i.random_key >= f.holdout_random
        order by i.random_key
        limit 1
      ) h on true
      where f.project_id = p_project;

      update queue_frontier f set
        rank = coalesce(v_rank, f.rank), random = coalesce(v_random, f.random), holdout_random = coalesce(v_holdout, f.holdout_random)
      where f.project_id = (
        select q.project_id from queue_frontier q where q.project_id = p_project and q.epoch = v_epoch
        for update skip locked);
    end $$`.execute(db);
}

async function dropFrontier(db: Kysely<any>): Promise<void> {
  await sql`drop function advance_queue_frontier(int)`.execute(db);
  await sql`drop index item_queue_idx`.execute(db);
  await sql`create index item_queue_idx on item (project_id, priority desc nulls last, random_key)
    where open and not holdout and lease_annotator is null`.execute(db);
  await sql`drop trigger item_priority_queue_frontier on item`.execute(db);
  await sql`drop function queue_frontier_back_to_start()`.execute(db);
  await sql`drop trigger item_inserted_queue_frontier on item`.execute(db);
  await sql`drop function queue_frontier_back_to_new_items()`.execute(db);
  await sql`drop trigger item_came_free on item`.execute(db);
  await sql`drop function queue_frontier_back_to_item()`.execute(db);
  await sql`drop trigger project_queue_frontier on project`.execute(db);
  await sql`drop function queue_frontier_for_project()`.execute(db);
  await sql`drop table queue_frontier`.execute(db);
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
