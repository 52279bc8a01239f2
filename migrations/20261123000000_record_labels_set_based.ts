import { type Kysely, type RawBuilder, sql } from 'kysely';

/**
 * `record_human_labels` as a handful of set-based statements per batch instead of six statements
 * per decision: the items are locked in id order (as before, so concurrent batches cannot
 * deadlock), then one statement appends the annotations, clears the leases and moves the items
 * along, and the audit trigger fires once per batch instead of once per label.
 *
 * Decisions that depend on one another — one item twice, or one idempotency key twice, in the
 * same batch — still run one by one through `record_human_label`, in item order, exactly as
 * before. Both paths answer the same rows.
 */

/** Each decision through `record_human_label`, in item order (see 20261121040000_record_labels_in_batches). */
const oneByOne = sql`
  for v_ord in select t.o::int from unnest(p_items) with ordinality as t(item_id, o) order by t.item_id, t.o loop
    return query select v_ord, r.item_found, r.label_found, r.annotation_id, r.created_at, r.version
      from record_human_label(p_items[v_ord], p_labels[v_ord], p_annotators[v_ord], p_durations[v_ord], p_keys[v_ord]) r;
  end loop;`;

export async function up(db: Kysely<any>): Promise<void> {
  await replaceRecordHumanLabels(
    db,
    sql`
      if (select count(distinct x) from unnest(p_items) x) < cardinality(p_items)
         or (select count(distinct k) < count(k) from unnest(p_keys) k) then
        ${oneByOne}
        return;
      end if;

      -- Lock first, in id order; the statement below then sees every item as its lock holder left it.
      perform 1 from item i where i.item_id = any(p_items) order by i.item_id for update;

      return query
      with decision as (
        select t.o::int as ord, t.item_id, t.label, t.annotator, t.duration, t.key
        from unnest(p_items, p_labels, p_annotators, p_durations, p_keys) with ordinality as t(item_id, label, annotator, duration, key, o)
      ), checked as (
        select d.*, i.project_id, i.label_count, l.label_id, p.overlap,
               (select count(*) from annotation a where a.item_id = d.item_id and a.annotator = d.annotator)::int as prior
        from decision d
        left join item i on i.item_id = d.item_id
        left join label l on l.project_id = i.project_id and l.name = d.label
        left join project p on p.project_id = i.project_id
      ), stored as (
        -- Someone who has not labeled an item yet may add a label only while it needs more.
        insert into annotation as a (item_id, project_id, label_id, annotator, source, duration_ms, version, idempotency_key)
        select c.item_id, c.project_id, c.label_id, c.annotator, 'human', c.duration, c.prior + 1, c.key
        from checked c
        where c.label_id is not null and not (c.prior = 0 and c.label_count >= c.overlap)
        order by c.item_id
        on conflict (idempotency_key) do nothing
        returning a.item_id, a.annotator, a.label_id, a.annotation_id, a.created_at, a.version
      ), released as (
        delete from lease l using stored s where l.item_id = s.item_id and l.annotator = s.annotator
      ), moved as (
        update item i set
          label_id = s.label_id,
          label_count = i.label_count + (s.version = 1)::int,
          open = i.label_count + (s.version = 1)::int < c.overlap,
          lease_annotator = case when i.lease_annotator = s.annotator then null else i.lease_annotator end,
          lease_expires_at = case when i.lease_annotator = s.annotator then null else i.lease_expires_at end
        from stored s join checked c on c.item_id = s.item_id
        where i.item_id = s.item_id
      )
      select c.ord, c.project_id is not null, c.label_id is not null, s.annotation_id, s.created_at, s.version
      from checked c left join stored s on s.item_id = c.item_id
      order by c.ord;`,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await replaceRecordHumanLabels(db, oneByOne);
}

/** `record_human_labels` with `body` as the statements of its function body. */
async function replaceRecordHumanLabels(db: Kysely<any>, body: RawBuilder<unknown>): Promise<void> {
  await sql`
    create or replace function record_human_labels(p_items int[], p_labels text[], p_annotators text[], p_durations int[], p_keys text[])
    returns table (ord int, item_found boolean, label_found boolean, annotation_id int, created_at timestamptz, version int)
    language plpgsql as $$
    #variable_conflict use_column
    declare
      v_ord int;
    begin
      ${body}
    end $$`.execute(db);
}
