import { type Kysely, sql } from 'kysely';

/**
 * Leased items leave the queue's indexes. Before, a lease changed only unindexed columns, so the
 * items other annotators held stayed at the head of the queue index and every pick walked past
 * them (with 50 annotators holding 5 items each, ~230 heap visits and ~2.5 ms per pick). Now the
 * indexes cover only unleased items: a lease costs one index entry per other index of the item
 * table, once, and a pick reads only items it can take.
 *
 * An expired lease no longer drops out of the filter by itself, so `queue_next` first hands
 * expired leases of the project back to the queue (without waiting for any row another
 * transaction holds), using the lease table's new expiry index.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index item_queue_idx`.execute(db);
  await sql`create index item_queue_idx on item (project_id, priority desc nulls last, random_key)
    where open and not holdout and lease_annotator is null`.execute(db);
  await sql`drop index item_holdout_queue_idx`.execute(db);
  await sql`create index item_holdout_queue_idx on item (project_id, random_key)
    where open and holdout and lease_annotator is null`.execute(db);
  await sql`create index lease_expiry_idx on lease (project_id, expires_at)`.execute(db);

  await replaceLeaseNextItems(db, 'unleased');

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

  await replaceQueueNext(db, true);
}

export async function down(db: Kysely<any>): Promise<void> {
  await replaceQueueNext(db, false);
  await sql`drop function release_expired_leases(int, int)`.execute(db);
  await replaceLeaseNextItems(db, 'lease expired');
  await db.schema.dropIndex('lease_expiry_idx').execute();
  await sql`drop index item_holdout_queue_idx`.execute(db);
  await sql`create index item_holdout_queue_idx on item (project_id, random_key) where open and holdout`.execute(db);
  await sql`drop index item_queue_idx`.execute(db);
  await sql`create index item_queue_idx on item (project_id, priority desc nulls last, random_key)
    where open and not holdout`.execute(db);
}

/** The queue's pick (see 20261121030000_queue_functions); `free` says which items are not leased. */
async function replaceLeaseNextItems(db: Kysely<any>, freeItems: 'unleased' | 'lease expired'): Promise<void> {
  const free = freeItems === 'unleased' ? sql`i.lease_annotator is null` : sql`(i.lease_expires_at is null or i.lease_expires_at < now())`;
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
        where i.project_id = p_project and i.open and not i.holdout and ${free}
          and not exists (select 1 from skip s where s.item_id = i.item_id and s.annotator = p_annotator)
          and (not p_exclude_own or not exists (
            select 1 from annotation a where a.item_id = i.item_id and a.annotator = p_annotator))
        order by i.priority desc nulls last, i.random_key
        limit p_priority
        for update of i skip locked
      ), by_chance as (
        select i.item_id from item i
        where i.project_id = p_project and i.open and i.holdout and ${free}
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

/** `queue_next` (see 20261121030000_queue_functions), handing expired leases back first or not. */
async function replaceQueueNext(db: Kysely<any>, handBackExpired: boolean): Promise<void> {
  const releaseExpired = handBackExpired ? sql`perform release_expired_leases(p_project, 100);` : sql``;
  await sql`
    create or replace function queue_next(p_project int, p_annotator text, p_n int)
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
      -- A lease lost in a crash only returns its item to the queue early, so its commit need not
      -- wait for the disk; labels are always committed synchronously.
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
  ${releaseExpired}      select count(*) into v_holdout from generate_series(1, v_wanted) where random() < v_share;
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
}
