import type { Kysely } from 'kysely';
import type { Database, ItemKind } from '../db/schema.js';
import { NotFoundError } from '../errors.js';
import { countItems } from '../repositories/item.repository.js';
import { applyOverlap, reassignHoldout } from '../repositories/item.repository.js';
import { setAuditActor } from '../repositories/audit.repository.js';
import { insertLabels, type LabelRecord, listLabels } from '../repositories/label.repository.js';
import {
  countProjects,
  findProject,
  insertProject,
  listProjects,
  type ProjectPatch,
  type ProjectRecord,
  updateProject,
} from '../repositories/project.repository.js';

export interface NewProject extends Omit<ProjectPatch, 'name'> {
  name: string;
  kind: ItemKind;
  labels: ReadonlyArray<{ name: string; hotkey?: string | null }>;
}

export interface Project extends ProjectRecord {
  labels: Array<Pick<LabelRecord, 'id' | 'name' | 'hotkey'>>;
  counts: { items: number; labeled: number };
}

export class ProjectService {
  constructor(private readonly db: Kysely<Database>) {}

  /** `actor` is who the audit trail names (see setAuditActor). */
  async create(input: NewProject, actor = 'system'): Promise<Project> {
    const projectId = await this.db.transaction().execute(async (trx) => {
      await setAuditActor(trx, actor);
      const project = await insertProject(trx, {
        name: input.name.trim(),
        kind: input.kind,
        guidelines: input.guidelines ?? '',
      });
      await updateProject(trx, project.id, {
        holdoutShare: input.holdoutShare,
        overlap: input.overlap,
        leaseSeconds: input.leaseSeconds,
        retrainEvery: input.retrainEvery,
        strategy: input.strategy,
        model: input.model,
        promotion: input.promotion,
      });
      await insertLabels(
        trx,
        project.id,
        input.labels.map((label) => ({ name: label.name.trim(), hotkey: label.hotkey || null })),
      );
      return project.id;
    });
    return this.get(projectId);
  }

  /**
   * Changes a project's name, guidelines or queue settings in one transaction; a new holdout share
   * or overlap is applied to the items at once.
   */
  async update(projectId: number, patch: ProjectPatch, actor = 'system'): Promise<Project> {
    await this.require(projectId);
    await this.db.transaction().execute(async (trx) => {
      await setAuditActor(trx, actor);
      await updateProject(trx, projectId, patch);
      if (patch.holdoutShare !== undefined) await reassignHoldout(trx, projectId, patch.holdoutShare);
      if (patch.overlap !== undefined) await applyOverlap(trx, projectId, patch.overlap);
    });
    return this.get(projectId);
  }

  async get(projectId: number): Promise<Project> {
    const project = await this.require(projectId);
    const [labels, counts] = await Promise.all([listLabels(this.db, [projectId]), countItems(this.db, projectId)]);
    return { ...project, labels: labels.map(toLabel), counts };
  }

  /** Every project, or only those the user `memberId` is a member of. */
  async list(memberId?: number): Promise<Project[]> {
    const projects = await listProjects(this.db, memberId);
    const labels = await listLabels(
      this.db,
      projects.map((p) => p.id),
    );
    return Promise.all(
      projects.map(async (project) => ({
        ...project,
        labels: labels.filter((l) => l.projectId === project.id).map(toLabel),
        counts: await countItems(this.db, project.id),
      })),
    );
  }

  count(): Promise<number> {
    return countProjects(this.db);
  }

  /** The project, or a 404 that says which one is missing. */
  async require(projectId: number): Promise<ProjectRecord> {
    const project = await findProject(this.db, projectId);
    if (!project) throw new NotFoundError(`Project ${projectId}`);
    return project;
  }
}

function toLabel(label: LabelRecord): Pick<LabelRecord, 'id' | 'name' | 'hotkey'> {
  return { id: label.id, name: label.name, hotkey: label.hotkey };
}
