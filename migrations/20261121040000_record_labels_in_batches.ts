import { type Kysely, sql } from 'kysely';

/**
 * Records several label decisions in one call and one commit (group commit). Each decision runs
 * exactly as `record_human_label`; the items are visited in id order, so two batches running at
 * once always lock rows in the same order and cannot deadlock. Answers one row per decision,
 * `ord` being its 1-based position in the arrays.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function record_human_labels(p_items int[], p_labels text[], p_annotators text[], p_durations int[], p_keys text[])
    returns table (ord int, item_found boolean, label_found boolean, annotation_id int, created_at timestamptz, version int)
    language plpgsql as $$
    #variable_conflict use_column
    declare
      v_ord int;
    begin
      for v_ord in select t.o::int from unnest(p_items) with ordinality as t(item_id, o) order by t.item_id, t.o loop
        return query select v_ord, r.item_found, r.label_found, r.annotation_id, r.created_at, r.version
          from record_human_label(p_items[v_ord], p_labels[v_ord], p_annotators[v_ord], p_durations[v_ord], p_keys[v_ord]) r;
      end loop;
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function record_human_labels(int[], text[], text[], int[], text[])`.execute(db);
}
