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

export interface Database {
  project: ProjectTable;
  label: LabelTable;
  item: ItemTable;
  annotation: AnnotationTable;
  skip: SkipTable;
  lease: LeaseTable;
  round: RoundTable;
  job: JobTable;
}

export type ProjectRow = Selectable<ProjectTable>;

/** What repository functions run on: the database, or a transaction a service opened. */
export type Executor = Kysely<Database> | Transaction<Database>;
