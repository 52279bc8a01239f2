import { type Kysely, sql } from 'kysely';

/**
 * Users, project memberships, sessions, API tokens, invites and the audit trail.
 *
 * Secrets (session ids, API tokens, invite tokens) are random 256-bit values stored only as their
 * SHA-256; passwords as scrypt hashes. The audit trail is written by triggers, so no code path
 * that changes an audited table can forget it: each row names the actor the writing transaction
 * set with `set_config('loopwise.actor', …, true)` (or, for annotations, the annotator itself).
 * `audit_event` and `annotation` refuse UPDATE and DELETE: the trail is append-only and
 * annotations are never hard-deleted.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // "user" is a reserved word in PostgreSQL.
  await db.schema
    .createTable('app_user')
    .addColumn('user_id', 'integer', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('email', 'text', (col) => col.notNull().unique())
    .addColumn('name', 'text', (col) => col.notNull().defaultTo(''))
    .addColumn('password_hash', 'text')
    .addColumn('is_admin', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('active', 'boolean', (col) => col.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('project_member')
    .addColumn('project_id', 'integer', (col) => col.notNull().references('project.project_id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (col) => col.notNull().references('app_user.user_id').onDelete('cascade'))
    .addColumn('role', 'text', (col) => col.notNull().check(sql`role in ('lead', 'engineer', 'annotator')`))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('project_member_pkey', ['project_id', 'user_id'])
    .execute();
  await db.schema.createIndex('project_member_user_idx').on('project_member').columns(['user_id']).execute();

  await db.schema
    .createTable('session')
    .addColumn('session_hash', 'text', (col) => col.primaryKey())
    .addColumn('user_id', 'integer', (col) => col.notNull().references('app_user.user_id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('session_user_idx').on('session').columns(['user_id']).execute();

  await db.schema
    .createTable('api_token')
    .addColumn('token_id', 'integer', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('user_id', 'integer', (col) => col.notNull().references('app_user.user_id').onDelete('cascade'))
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('token_hash', 'text', (col) => col.notNull().unique())
    .addColumn('role', 'text', (col) => col.notNull().check(sql`role in ('admin', 'lead', 'engineer', 'annotator')`))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('last_used_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('api_token_user_idx').on('api_token').columns(['user_id']).execute();

  // An invite to a project, or (project null, is_admin) the one-time link that creates the first admin.
  await db.schema
    .createTable('invite')
    .addColumn('invite_id', 'integer', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('token_hash', 'text', (col) => col.notNull().unique())
    .addColumn('project_id', 'integer', (col) => col.references('project.project_id').onDelete('cascade'))
    .addColumn('role', 'text', (col) => col.check(sql`role in ('lead', 'engineer', 'annotator')`))
    .addColumn('is_admin', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('email', 'text')
    .addColumn('created_by', 'integer', (col) => col.references('app_user.user_id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .addColumn('used_at', 'timestamptz')
    .execute();

  // Whether annotators may see labels given by others (item browser); off by default.
  await db.schema
    .alterTable('project')
    .addColumn('annotators_see_all_labels', 'boolean', (col) => col.notNull().defaultTo(false))
    .execute();

  await db.schema
    .createTable('audit_event')
    .addColumn('audit_id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('actor', 'text', (col) => col.notNull())
    .addColumn('project_id', 'integer')
    .addColumn('action', 'text', (col) => col.notNull().check(sql`action in ('create', 'change', 'delete')`))
    .addColumn('entity', 'text', (col) => col.notNull())
    .addColumn('entity_id', 'text')
    .addColumn('before', 'jsonb')
    .addColumn('after', 'jsonb')
    .execute();
  await db.schema.createIndex('audit_event_project_idx').on('audit_event').columns(['project_id', 'audit_id']).execute();

  await sql`
    create function refuse_change() returns trigger language plpgsql as $$
    begin
      raise exception '% rows are never changed or deleted', tg_table_name using errcode = 'insufficient_privilege';
    end $$`.execute(db);
  await sql`create trigger audit_event_append_only before update or delete on audit_event
    for each row execute function refuse_change()`.execute(db);
  await sql`create trigger annotation_append_only before update or delete on annotation
    for each row execute function refuse_change()`.execute(db);

  // One row per changed row of a low-volume table; secrets never reach the trail.
  // TG_ARGV[0] names the key column.
  await sql`
    create function audit_row_change() returns trigger language plpgsql as $$
    declare
      v_old jsonb := case when tg_op <> 'INSERT' then to_jsonb(old) - 'password_hash' - 'token_hash' end;
      v_new jsonb := case when tg_op <> 'DELETE' then to_jsonb(new) - 'password_hash' - 'token_hash' end;
    begin
      if tg_op = 'UPDATE' and v_old = v_new then
        return null;
      end if;
      insert into audit_event (actor, project_id, action, entity, entity_id, before, after)
      values (coalesce(nullif(current_setting('loopwise.actor', true), ''), 'system'),
              (coalesce(v_new, v_old) ->> 'project_id')::int,
              case tg_op when 'INSERT' then 'create' when 'UPDATE' then 'change' else 'delete' end,
              tg_table_name, coalesce(v_new, v_old) ->> tg_argv[0], v_old, v_new);
      return null;
    end $$`.execute(db);
  for (const [table, key] of [
    ['project', 'project_id'],
    ['label', 'label_id'],
    ['project_member', 'user_id'],
    ['api_token', 'token_id'],
    ['app_user', 'user_id'],
    ['invite', 'invite_id'],
  ]) {
    await sql`create trigger ${sql.raw(`${table}_audit`)} after insert or update or delete on ${sql.table(table)}
      for each row execute function audit_row_change(${sql.lit(key)})`.execute(db);
  }

  // Human labels: one statement-level insert per batch (labels arrive in group commits). The
  // annotator is the actor; a re-decision carries the label it replaced as `before`.
  await sql`
    create function audit_annotations() returns trigger language plpgsql as $$
    begin
      insert into audit_event (actor, project_id, action, entity, entity_id, before, after)
      select n.annotator, n.project_id, 'create', 'annotation', n.annotation_id::text,
        case when n.version > 1 then (
          select jsonb_build_object('label', pl.name, 'version', p.version)
          from annotation p join label pl on pl.label_id = p.label_id
          where p.item_id = n.item_id and p.annotator = n.annotator and p.version = n.version - 1
          limit 1) end,
        jsonb_build_object('itemId', n.item_id, 'label', l.name, 'version', n.version, 'source', n.source)
      from new_annotations n join label l on l.label_id = n.label_id
      where n.source = 'human';
      return null;
    end $$`.execute(db);
  await sql`create trigger annotation_audit after insert on annotation
    referencing new table as new_annotations for each statement execute function audit_annotations()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger annotation_audit on annotation`.execute(db);
  await sql`drop trigger annotation_append_only on annotation`.execute(db);
  for (const table of ['project', 'label', 'project_member', 'api_token', 'app_user', 'invite']) {
    await sql`drop trigger ${sql.raw(`${table}_audit`)} on ${sql.table(table)}`.execute(db);
  }
  await db.schema.dropTable('audit_event').execute();
  await sql`drop function audit_annotations()`.execute(db);
  await sql`drop function audit_row_change()`.execute(db);
  await sql`drop function refuse_change()`.execute(db);
  await db.schema.alterTable('project').dropColumn('annotators_see_all_labels').execute();
  for (const table of ['invite', 'api_token', 'session', 'project_member', 'app_user']) {
    await db.schema.dropTable(table).execute();
  }
}
