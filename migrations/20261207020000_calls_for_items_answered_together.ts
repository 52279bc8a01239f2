import { type Kysely, sql } from 'kysely';
import { createQueueNextItems, rank, releaseExpiredLeases } from './20261206000000_queue_reads_by_index_from_the_frontier.js';

/**
 * Calls for items that go to PostgreSQL together are answered together: `queue_next_items` takes
 * every waiting call at once and runs each of its statements once for all of them, where it ran
 * them once per call.
 *
 * The statements are the same as before. The calls' held leases are read in one query. Expired
 * leases go back and the frontier is read once per project. Candidates are locked from each queue
 * as they are needed, for all the calls still to come at once. They are then dealt out in
 * PL/pgSQL, call by call in the order they came. So what each annotator gets is what the calls
 * one after another gave:
 * - first the items they hold, then new leases;
 * - each a holdout item with the project's holdout share, else the next item by priority;
 * - when one queue runs short, the other fills in;
 * - never an item they skipped, nor, with several labels per item, one they labeled: an item one
 *   caller must not get goes to the next caller who may;
 * - an annotator's second call in the same batch goes after their first, and gets back what it leased.
 *
 * pgbench, one client, on the 1,000,000-item benchmark database, the machine's CPU per statement
 * (pgbench's own excluded), alternated with the five calls one after another in one statement:
 * - five calls of five items each for new annotators: 2.05 and 2.08 ms, against 2.16 and 2.66;
 * - one annotator who skipped the first 200 items of the queue, a call of five items and their
 *   release: 1.72 ms, against 2.07 (and 6.10 when candidates were locked before the skips were read).
 */
/**
 * Item `i` is one some caller still to be served (`v_rest`) may get: not one every one of them
 * skipped or, with several labels per item, labeled. Those are stepped over without a lock, as a
 * pick always did, so that items an annotator skipped, which stay at the head of the queue until
 * someone else takes them, cost their next pick no more than a read each.
 */
const someCallerMayTake = sql`(
                          select count(distinct x.annotator) from (
                            select s.annotator from skip s where s.item_id = i.item_id and s.annotator = any(v_rest)
                            union all
                            select a.annotator from annotation a
                            where v_overlap > 1 and a.item_id = i.item_id and a.annotator = any(v_rest)) x
                        ) < cardinality(v_rest)`;

export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop function queue_next_items(int, text, int)`.execute(db);
  await sql`
    create function queue_next_items(p_projects int[], p_annotators text[], p_ns int[])
    returns table (request int, item_id int, external_id text, text text, features jsonb, image text, holdout boolean,
                   score real, priority float8, score_strategy text, score_round_id int,
                   suggestion_label text, suggestion_confidence real, lease_expires_at timestamptz)
    language plpgsql set plan_cache_mode = force_generic_plan set jit = off set enable_seqscan = off as $$
    #variable_conflict use_column
    declare
      v_project int; v_requests int[]; v_annotators text[]; v_wanted int[];
      v_share float8; v_overlap int; v_seconds int; v_rank float8; v_random float8; v_holdout_from float8;
      v_held_requests int[]; v_held_items int[];
      v_holdouts int[]; v_later int[]; v_later_holdouts int[];
      c_id int[]; c_holdout boolean[]; c_taken boolean[]; v_excluded text[]; v_new int[];
      v_more boolean[]; v_first int[]; v_rest text[]; v_q boolean; v_want int; v_got int; v_i int; v_limit int;
      a_item int[]; a_request int[]; a_annotator text[];
    begin
      perform set_config('synchronous_commit', 'off', true);

      -- Calls of one project go together; an annotator's second call goes after their first.
      for v_project, v_requests, v_annotators, v_wanted in
        select w.project_id, array_agg(w.request order by w.request), array_agg(w.annotator order by w.request),
               array_agg(w.n order by w.request)
        from (select r.project_id, r.annotator, r.n, r.request::int as request,
                     row_number() over (partition by r.project_id, r.annotator order by r.request) as turn
              from unnest(p_projects, p_annotators, p_ns) with ordinality as r(project_id, annotator, n, request)) w
        group by w.turn, w.project_id
        order by w.turn, w.project_id
      loop
        select p.holdout_share, p.overlap, p.lease_seconds into v_share, v_overlap, v_seconds
        from project p where p.project_id = v_project;
        -- The statement fails as a whole, so the calls of every other project lease nothing either.
        if not found then
          raise exception 'project % not found', v_project using errcode = 'no_data_found';
        end if;

        -- The items each annotator holds come first.
        select coalesce(array_agg(h.request order by h.request, h.lease_expires_at, h.item_id), '{}'),
               coalesce(array_agg(h.item_id order by h.request, h.lease_expires_at, h.item_id), '{}')
          into v_held_requests, v_held_items
        from unnest(v_requests, v_annotators, v_wanted) as r(request, annotator, n)
        cross join lateral (
          select r.request, i.item_id, i.lease_expires_at from lease l
          join item i on i.item_id = l.item_id and i.lease_annotator = l.annotator
          where l.project_id = v_project and l.annotator = r.annotator and i.lease_expires_at > now() and i.open
          order by i.lease_expires_at, l.item_id
          limit r.n) h;
        if cardinality(v_held_items) > 0 then
          return query
            select x.request, i.item_id, i.external_id, i.text, i.features, i.image, i.holdout, i.score, i.priority,
                   i.score_strategy, i.score_round_id, sl.name, i.suggestion_confidence, i.lease_expires_at
            from unnest(v_held_requests, v_held_items) with ordinality as x(request, item_id, position)
            join item i on i.item_id = x.item_id
            left join label sl on sl.label_id = i.suggestion_label_id
            order by x.position;
          foreach v_i in array v_held_requests loop
            v_wanted[array_position(v_requests, v_i)] := v_wanted[array_position(v_requests, v_i)] - 1;
          end loop;
          continue when 0 = all(v_wanted);
        end if;

        -- Expired leases of the project go back to the queue, skipping rows another transaction holds.
        ${releaseExpiredLeases(sql`v_project`)};

        -- Where the free items start, now that the expired leases are back.
        select coalesce(f.rank, '-Infinity'), coalesce(f.random, '-Infinity'), coalesce(f.holdout_random, '-Infinity')
          into v_rank, v_random, v_holdout_from
        from (select) one left join queue_frontier f on f.project_id = v_project;
        -- How many of each call's picks are holdout picks; and how many picks of each kind the calls after it want.
        select array_agg(d.holdouts order by d.position), array_agg(d.later order by d.position),
               array_agg(d.later_holdouts order by d.position)
          into v_holdouts, v_later, v_later_holdouts
        from (select u.position, u.holdouts, coalesce(sum(u.wanted - u.holdouts) over later, 0)::int as later,
                     coalesce(sum(u.holdouts) over later, 0)::int as later_holdouts
              from (select w.position, w.wanted, (select count(*) from generate_series(1, w.wanted) where random() < v_share)::int as holdouts
                    from unnest(v_wanted) with ordinality as w(wanted, position)) u
              window later as (order by u.position rows between 1 following and unbounded following)) d;

        -- Each call in turn takes the drawn mix, then fills what is missing from whichever queue has items.
        -- Candidates are locked as they are needed, for all the calls still to come at once.
        c_id := '{}'; c_holdout := '{}'; c_taken := '{}'; v_excluded := '{}';
        v_more := array[true, true]; v_first := array[1, 1];
        a_item := '{}'; a_request := '{}'; a_annotator := '{}';
        for v_r in 1..cardinality(v_requests) loop
          v_got := 0;
          for v_step in 1..4 loop
            v_q := v_step % 2 = 0;  -- priority, holdout, priority, holdout
            v_want := case v_step when 1 then v_wanted[v_r] - v_holdouts[v_r] when 2 then v_holdouts[v_r] else v_wanted[v_r] - v_got end;
            v_i := v_first[v_step % 2 + 1];
            while v_want > 0 loop
              if v_i > cardinality(c_id) then
                exit when not v_more[v_step % 2 + 1];
                v_rest := v_annotators[v_r:cardinality(v_annotators)];
                v_limit := v_want + case when v_q then v_later_holdouts[v_r] else v_later[v_r] end;
                if v_q then
                  select coalesce(array_agg(c.item_id order by c.random_key), '{}') into v_new
                  from (select i.item_id, i.random_key from item i
                        where i.project_id = v_project and i.open and i.holdout and i.lease_annotator is null
                          and i.random_key >= v_holdout_from and i.item_id <> all(c_id) and ${someCallerMayTake}
                        order by i.random_key
                        limit v_limit
                        for update of i skip locked) c;
                else
                  select coalesce(array_agg(c.item_id order by c.rank, c.random_key), '{}') into v_new
                  from (select i.item_id, ${rank} as rank, i.random_key from item i
                        where i.project_id = v_project and i.open and not i.holdout and i.lease_annotator is null
                          and (${rank}, i.random_key) >= (v_rank, v_random)
                          and i.item_id <> all(c_id) and ${someCallerMayTake}
                        order by ${rank}, i.random_key
                        limit v_limit
                        for update of i skip locked) c;
                end if;
                v_more[v_step % 2 + 1] := cardinality(v_new) = v_limit;
                exit when cardinality(v_new) = 0;
                c_id := c_id || v_new;
                c_holdout := c_holdout || array_fill(v_q, array[cardinality(v_new)]);
                c_taken := c_taken || array_fill(false, array[cardinality(v_new)]);
                -- Never an item the annotator skipped, nor, with several labels per item, one they labeled.
                v_excluded := v_excluded || array(
                  select s.item_id || ':' || s.annotator from skip s
                  where s.item_id = any(v_new) and s.annotator = any(v_rest)
                  union all
                  select a.item_id || ':' || a.annotator from annotation a
                  where v_overlap > 1 and a.item_id = any(v_new) and a.annotator = any(v_rest));
              end if;
              if c_holdout[v_i] = v_q and not c_taken[v_i]
                 and (cardinality(v_excluded) = 0 or not (c_id[v_i] || ':' || v_annotators[v_r]) = any(v_excluded)) then
                c_taken[v_i] := true;
                a_item := a_item || c_id[v_i]; a_request := a_request || v_requests[v_r]; a_annotator := a_annotator || v_annotators[v_r];
                v_want := v_want - 1;
                v_got := v_got + 1;
              end if;
              v_i := v_i + 1;
            end loop;
            -- The first candidate of this queue still free, where the next call starts looking.
            while v_first[v_step % 2 + 1] <= cardinality(c_id)
                  and (c_holdout[v_first[v_step % 2 + 1]] <> v_q or c_taken[v_first[v_step % 2 + 1]]) loop
              v_first[v_step % 2 + 1] := v_first[v_step % 2 + 1] + 1;
            end loop;
          end loop;
        end loop;

        return query
          with leased as (
            update item i set lease_annotator = a.annotator, lease_expires_at = now() + make_interval(secs => v_seconds)
            from unnest(a_item, a_annotator, a_request) with ordinality as a(item_id, annotator, request, position)
            where i.item_id = a.item_id
            returning a.request, a.position, i.item_id, i.external_id, i.text, i.features, i.image, i.holdout, i.score,
                      i.priority, i.score_strategy, i.score_round_id, i.suggestion_label_id, i.suggestion_confidence,
                      i.lease_annotator, i.lease_expires_at
          ), recorded as (
            insert into lease as l (item_id, project_id, annotator, expires_at)
            select x.item_id, v_project, x.lease_annotator, x.lease_expires_at from leased x
            on conflict (item_id) do update set annotator = excluded.annotator, expires_at = excluded.expires_at
          )
          select x.request, x.item_id, x.external_id, x.text, x.features, x.image, x.holdout, x.score, x.priority,
                 x.score_strategy, x.score_round_id, sl.name, x.suggestion_confidence, x.lease_expires_at
          from leased x left join label sl on sl.label_id = x.suggestion_label_id
          order by x.position;

        -- About every tenth call moves the frontier up past what has been leased since.
        if random() < 0.1 * cardinality(v_requests) then
          perform advance_queue_frontier(v_project);
        end if;
      end loop;
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function queue_next_items(int[], text[], int[])`.execute(db);
  await createQueueNextItems(db);
}
