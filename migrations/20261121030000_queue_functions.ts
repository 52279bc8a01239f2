import { type Kysely, sql } from 'kysely';

/**
 * What annotators do most — record a label, get the next items — as PL/pgSQL functions. Their logic is a handful of dependent queries; as functions they run in one round
 * trip and their plans are cached per connection instead of re-planned on every call, which
 * costs more than executing them.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function record_human_label(p_item int, p_label text, p_annotator text, p_duration int, p_key text)
    returns table (item_found boolean, label_found boolean, annotation_id int, created_at timestamptz, version int)
    language plpgsql as $$
    #variable_conflict use_column
    declare
      v_project int; v_count int; v_overlap int; v_label int; v_prior int;
      v_id int; v_created timestamptz; v_version int;
    begin
      select i.project_id, i.label_count into v_project, v_count from item i where i.item_id = p_item for update;
      if not found then
        return query select false, false, null::int, null::timestamptz, null::int;
        return;
      end if;
      select l.label_id into v_label from label l where l.project_id = v_project and l.name = p_label;
      if v_label is null then
        return query select true, false, null::int, null::timestamptz, null::int;
        return;
      end if;
      select p.overlap into v_overlap from project p where p.project_id = v_project;
      select count(*) into v_prior from annotation a where a.item_id = p_item and a.annotator = p_annotator;
      -- Someone who has not labeled the item yet may add a label only while it needs more.
      if v_prior = 0 and v_count >= v_overlap then
        return query select true, true, null::int, null::timestamptz, null::int;
        return;
      end if;
      insert into annotation as a (item_id, project_id, label_id, annotator, source, duration_ms, version, idempotency_key)
      values (p_item, v_project, v_label, p_annotator, 'human', p_duration, v_prior + 1, p_key)
      on conflict (idempotency_key) do nothing
      returning a.annotation_id, a.created_at, a.version into v_id, v_created, v_version;
      if v_id is null then
        return query select true, true, null::int, null::timestamptz, null::int;
        return;
      end if;
      delete from lease l where l.item_id = p_item and l.annotator = p_annotator;
      update item i set
        label_id = v_label,
        label_count = v_count + (v_prior = 0)::int,
        open = v_count + (v_prior = 0)::int < v_overlap,
        lease_annotator = case when i.lease_annotator = p_annotator then null else i.lease_annotator end,
        lease_expires_at = case when i.lease_annotator = p_annotator then null else i.lease_expires_at end
      where i.item_id = p_item;
      return query select true, true, v_id, v_created, v_version;
    end $$`.execute(db);

  await sql`
    create function lease_next_items(p_project int, p_annotator text, p_priority int, p_holdout int,
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
        order by i.score desc nulls last, i.random_key
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

  // The whole of "give me n items": the leases the annotator already holds first, then new ones,
  // each with the project's holdout share of coming from the random sample; when one order runs
  // dry the other fills in. An unknown project raises no_data_found.
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
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function queue_next(int, text, int)`.execute(db);
  await sql`drop function lease_next_items(int, text, int, int, boolean, int)`.execute(db);
  await sql`drop function record_human_label(int, text, text, int, text)`.execute(db);
}
