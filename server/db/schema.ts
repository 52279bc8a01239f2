/** Table types for Kysely; one interface per table, columns as PostgreSQL returns them. */
import type { ColumnType, Generated, Kysely, Selectable, Transaction } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export type ItemKind = 'text' | 'vector' | 'image';
export type AnnotationSource = 'human' | 'import';
export type PromotionPolicy = 'always' | 'never' | 'if-better';
export type JobKind = 'round' | 'score';
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

type Json<T> = ColumnType<T, string, string>;

export interface ProjectTable {
  project_id: Generated<number>;
  name: string;
  kind: ItemKind;
  guidelines: Generated<string>;
  vector_dim: number | null;
  holdout_share: Generated<number>;
  overlap: Generated<number>;
  lease_seconds: Generated<number>;
  annotators_see_all_labels: Generated<boolean>;
  created_at: CreatedAt;
  retrain_every: Generated<number>;
  strategy: Generated<string>;
  model: Generated<string>;
  promotion: Generated<PromotionPolicy>;
  promoted_round_id: number | null;
}

export interface LabelTable {
  label_id: Generated<number>;
  project_id: number;
  name: string;
  hotkey: string | null;
  position: number;
}

export interface ItemTable {
  item_id: Generated<number>;
  project_id: number;
  external_id: string;
  text: string | null;
  features: ColumnType<Array<number | null> | null, string | null, string | null>;
  image: string | null;
  label_id: number | null;
  created_at: CreatedAt;
  random_key: Generated<number>;
  holdout: Generated<boolean>;
  label_count: Generated<number>;
  open: Generated<boolean>;
  lease_annotator: string | null;
  lease_expires_at: Date | null;
  score: number | null;
  /** Queue order, written by scoring runs (see the rounds migration). */
  priority: number | null;
  score_strategy: string | null;
  score_round_id: number | null;
  suggestion_label_id: number | null;
  suggestion_confidence: number | null;
}

export interface AnnotationTable {
  annotation_id: Generated<number>;
  item_id: number;
  project_id: number;
  label_id: number;
  annotator: string;
  source: AnnotationSource;
  duration_ms: number | null;
  created_at: CreatedAt;
  idempotency_key: string | null;
  version: Generated<number>;
}

export interface SkipTable {
  item_id: number;
  annotator: string;
  created_at: CreatedAt;
}

export interface LeaseTable {
  item_id: number;
  project_id: number;
  annotator: string;
  expires_at: Date;
}

/**
 * Where each project's free items start in queue order, kept by the queue's functions and triggers
 * (see migration 20261206000000): no open, unleased item lies before it.
 */
export interface QueueFrontierTable {
  project_id: number;
  /** -priority (+∞ for none) and random key of the priority queue's frontier. */
  rank: Generated<number>;
  random: Generated<number>;
  /** Random key of the holdout queue's frontier. */
  holdout_random: Generated<number>;
  /** Raised whenever an item comes back to the queue. */
  epoch: Generated<string>;
}

export interface RoundTable {
  round_id: Generated<number>;
  project_id: number;
  number: number;
  trigger: 'auto' | 'manual';
  strategy: string;
  model: string;
  params: Json<Record<string, unknown>>;
  seed: number;
  label_watermark: number | null;
  train_item_ids: number[] | null;
  train_label_ids: number[] | null;
  holdout_item_ids: number[] | null;
  holdout_label_ids: number[] | null;
  metrics: Json<unknown> | null;
  comparison: Json<unknown> | null;
  timings: Json<Record<string, number>> | null;
  artifact_json: string | null;
  artifact_weights: Uint8Array | null;
  promoted_at: Date | null;
  created_at: CreatedAt;
  finished_at: Date | null;
}

/** A round's model weights, in parts written one statement each (rounds saved earlier have `round.artifact_weights`). */
export interface RoundWeightsTable {
  round_id: number;
  part: number;
  bytes: Uint8Array;
}

export interface JobTable {
  job_id: Generated<number>;
  project_id: number;
  kind: JobKind;
  round_id: number;
  status: Generated<JobStatus>;
  phase: string | null;
  progress: Generated<number>;
  eta_seconds: number | null;
  log: ColumnType<unknown[], string | undefined, string>;
  attempts: Generated<number>;
  max_attempts: Generated<number>;
  error: string | null;
  cancel_requested: Generated<boolean>;
  worker: string | null;
  heartbeat_at: Date | null;
  created_at: CreatedAt;
  started_at: Date | null;
  finished_at: Date | null;
}

export type ProjectRole = 'lead' | 'engineer' | 'annotator';
/** A role a user holds: admin is global, the others are per project. */
export type Role = 'admin' | ProjectRole;

export interface AppUserTable {
  user_id: Generated<number>;
  email: string;
  name: Generated<string>;
  password_hash: string | null;
  is_admin: Generated<boolean>;
  active: Generated<boolean>;
  created_at: CreatedAt;
}

export interface ProjectMemberTable {
  project_id: number;
  user_id: number;
  role: ProjectRole;
  created_at: CreatedAt;
}

export interface SessionTable {
  session_hash: string;
  user_id: number;
  created_at: CreatedAt;
  expires_at: Date;
}

export interface ApiTokenTable {
  token_id: Generated<number>;
  user_id: number;
  name: string;
  token_hash: string;
  role: Role;
  created_at: CreatedAt;
  expires_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

export interface InviteTable {
  invite_id: Generated<number>;
  token_hash: string;
  project_id: number | null;
  role: ProjectRole | null;
  is_admin: Generated<boolean>;
  email: string | null;
  created_by: number | null;
  created_at: CreatedAt;
  expires_at: Date;
  used_at: Date | null;
}

export type AuditAction = 'create' | 'change' | 'delete';

export interface AuditEventTable {
  audit_id: Generated<string>;
  created_at: CreatedAt;
  actor: string;
  project_id: number | null;
  action: AuditAction;
  entity: string;
  entity_id: string | null;
  before: unknown;
  after: unknown;
}

export interface Database {
  project: ProjectTable;
  label: LabelTable;
  item: ItemTable;
  annotation: AnnotationTable;
  skip: SkipTable;
  lease: LeaseTable;
  queue_frontier: QueueFrontierTable;
  round: RoundTable;
  round_weights: RoundWeightsTable;
  job: JobTable;
  app_user: AppUserTable;
  project_member: ProjectMemberTable;
  session: SessionTable;
  api_token: ApiTokenTable;
  invite: InviteTable;
  audit_event: AuditEventTable;
}

export type ProjectRow = Selectable<ProjectTable>;

/** What repository functions run on: the database, or a transaction a service opened. */
export type Executor = Kysely<Database> | Transaction<Database>;
