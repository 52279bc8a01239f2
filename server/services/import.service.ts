import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { InvalidInputError } from '../errors.js';
import { checkItemRow, featureLengthMismatch, type ItemDraft, type RowContext } from '../import/item-row.js';
import { type ImportFormat, parseRows, type RowError, UnreadableFileError } from '../import/parse-rows.js';
import { insertAnnotations } from '../repositories/annotation.repository.js';
import { insertAuditEvent } from '../repositories/audit.repository.js';
import type { ImageFileRepository } from '../repositories/image-file.repository.js';
import { insertItems, type NewItem } from '../repositories/item.repository.js';
import { listLabels } from '../repositories/label.repository.js';
import { setVectorDimIfUnset } from '../repositories/project.repository.js';
import type { ProjectService } from './project.service.js';

export interface ImportResult {
  imported: number;
  duplicates: number;
  failed: number;
  /** The first `maxReportedErrors` bad rows; `failed` counts them all. */
  errors: RowError[];
  errorsTruncated: boolean;
}

const batchSize = 2000;
const writersInFlight = 2;
const maxReportedErrors = 1000;
/** Who an imported label is attributed to when the row does not say. */
const importAnnotator = 'import';

export class ImportService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly projects: ProjectService,
    private readonly images: ImageFileRepository,
    /** Hears of every import that added items (the promoted model then scores them). */
    private readonly onImported: (projectId: number, imported: number) => Promise<void> = async () => {},
  ) {}

  /**
   * Streams rows into the project in batches, each batch its own transaction, so every good
   * row before a failure is kept and a repeated import adds nothing. Bad rows are reported, not
   * fatal. Parsing overlaps with writing, and up to `writersInFlight` batches are written at
   * once, so the database can use more than one core.
   */
  async importItems(projectId: number, source: AsyncIterable<Uint8Array>, format: ImportFormat, actor = 'system'): Promise<ImportResult> {
    const project = await this.projects.require(projectId);
    const labels = await listLabels(this.db, [projectId]);
    const labelIds = new Map(labels.map((l) => [l.name, l.id]));
    const ctx: RowContext = {
      kind: project.kind,
      labels: new Set(labelIds.keys()),
      vectorDim: project.vectorDim,
      checkImagePath: (p) => this.images.check(p),
    };
    const result: ImportResult = { imported: 0, duplicates: 0, failed: 0, errors: [], errorsTruncated: false };
    const fail = (error: RowError) => {
      result.failed += 1;
      if (result.errors.length < maxReportedErrors) result.errors.push(error);
      else result.errorsTruncated = true;
    };

    let batch: Array<ItemDraft & { annotator: string }> = [];
    const writing = new Set<Promise<void>>();
    let writeFailure: { error: unknown } | undefined;
    const startWrite = (rows: typeof batch) => {
      const write: Promise<void> = flush(rows)
        .catch((error: unknown) => {
          writeFailure ??= { error };
        })
        .finally(() => writing.delete(write));
      writing.add(write);
    };
    const settle = () => Promise.all(writing);
    const queue = { holdoutShare: project.holdoutShare, overlap: project.overlap };
    const flush = async (rows: typeof batch) => {
      const { inserted, duplicates } = await this.writeBatch(projectId, rows, labelIds, queue);
      result.imported += inserted;
      result.duplicates += duplicates;
    };

    try {
      for await (const row of parseRows(source, format)) {
        if ('error' in row) {
          fail(row.error);
          continue;
        }
        const check = checkItemRow(row.record, ctx);
        if ('field' in check) {
          fail({ line: row.line, field: check.field, message: check.message });
          continue;
        }
        const { draft } = check;
        if (draft.features !== null && ctx.vectorDim === null) {
          ctx.vectorDim = await setVectorDimIfUnset(this.db, projectId, draft.features.length);
          if (ctx.vectorDim !== draft.features.length) {
            fail({ line: row.line, field: 'features', message: featureLengthMismatch(draft.features.length, ctx.vectorDim) });
            continue;
          }
        }
        const annotator = typeof row.record.annotator === 'string' && row.record.annotator.trim() !== '' ? row.record.annotator.trim().slice(0, 200) : importAnnotator;
        batch.push({ ...draft, annotator });
        if (batch.length >= batchSize) {
          if (writing.size >= writersInFlight) await Promise.race(writing);
          if (writeFailure) throw writeFailure.error;
          startWrite(batch);
          batch = [];
        }
      }
    } catch (err) {
      if (err instanceof UnreadableFileError) {
        await settle();
        throw new InvalidInputError(`The file cannot be read: ${err.message}`, { imported: result.imported });
      }
      await settle();
      throw err;
    }
    if (batch.length > 0) startWrite(batch);
    await settle();
    if (writeFailure) throw writeFailure.error;
    result.errors.sort((a, b) => a.line - b.line);
    if (result.imported > 0) await this.onImported(projectId, result.imported);
    // One audit event for the file: its labels are provenance of the data, not decisions of annotators.
    await insertAuditEvent(this.db, {
      actor,
      projectId,
      action: 'create',
      entity: 'import',
      entityId: null,
      after: { format, imported: result.imported, duplicates: result.duplicates, failed: result.failed },
    });
    return result;
  }

  private async writeBatch(
    projectId: number,
    rows: ReadonlyArray<ItemDraft & { annotator: string }>,
    labelIds: ReadonlyMap<string, number>,
    queue: { holdoutShare: number; overlap: number },
  ): Promise<{ inserted: number; duplicates: number }> {
    const items: NewItem[] = rows.map((r) => ({
      externalId: r.externalId,
      text: r.text,
      features: r.features,
      image: r.image,
      labelId: r.label === null ? null : labelIds.get(r.label)!,
    }));
    const annotatorOf = new Map(rows.map((r) => [r.externalId, r.annotator]));
    const inserted = await this.db.transaction().execute(async (trx) => {
      const fresh = await insertItems(trx, projectId, items, queue);
      await insertAnnotations(
        trx,
        projectId,
        fresh
          .filter((item) => item.labelId !== null)
          .map((item) => ({
            itemId: item.itemId,
            labelId: item.labelId!,
            annotator: annotatorOf.get(item.externalId) ?? importAnnotator,
            source: 'import' as const,
          })),
      );
      return fresh.length;
    });
    return { inserted, duplicates: rows.length - inserted };
  }
}
