/** Table types for Kysely; one interface per table, columns as PostgreSQL returns them. */
import type { ColumnType, Generated, Kysely, Selectable, Transaction } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export type ItemKind = 'text' | 'vector' | 'image';
export type AnnotationSource = 'human' | 'import';

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

export interface Database {
  project: ProjectTable;
  label: LabelTable;
  item: ItemTable;
  annotation: AnnotationTable;
  skip: SkipTable;
  lease: LeaseTable;
}

export type ProjectRow = Selectable<ProjectTable>;

/** What repository functions run on: the database, or a transaction a service opened. */
export type Executor = Kysely<Database> | Transaction<Database>;
