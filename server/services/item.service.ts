import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ForbiddenError, InvalidInputError, NotFoundError } from '../errors.js';
import type { ImageFileRepository } from '../repositories/image-file.repository.js';
import { findItemRef, type ItemStatus, type ItemWithAnnotation, listItems } from '../repositories/item.repository.js';
import { listLabels } from '../repositories/label.repository.js';
import type { ProjectService } from './project.service.js';

export type { ItemWithAnnotation };

export interface ItemPage {
  items: ItemWithAnnotation[];
  nextCursor: string | null;
}

export interface ItemViewer {
  /** The viewer's annotator name. */
  annotator: string;
  /** False for annotators, who see labels of others only where the project allows it. */
  seesAllLabels: boolean;
}

export interface ItemFilter {
  status?: ItemStatus;
  label?: string;
  cursor?: string;
  limit: number;
}

export class ItemService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly projects: ProjectService,
    private readonly images: ImageFileRepository,
  ) {}

  /**
   * A page of items. An annotator sees labels others gave only where the project allows it;
   * elsewhere those items show no label, and filtering by label is refused.
   */
  async list(projectId: number, filter: ItemFilter, viewer?: ItemViewer): Promise<ItemPage> {
    const project = await this.projects.require(projectId);
    const redact = viewer !== undefined && !viewer.seesAllLabels && !project.annotatorsSeeAllLabels;
    let labelId: number | undefined;
    if (filter.label !== undefined) {
      if (redact) throw new ForbiddenError("Filtering by label would show other annotators' labels");
      const labels = await listLabels(this.db, [projectId]);
      labelId = labels.find((l) => l.name === filter.label)?.id;
      if (labelId === undefined) throw new InvalidInputError(`Label "${filter.label}" is not in this project's label set`);
    }
    const afterItemId = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor);
    const rows = await listItems(this.db, {
      projectId,
      status: filter.status,
      labelId,
      afterItemId,
      limit: filter.limit + 1,
    });
    const hasMore = rows.length > filter.limit;
    const page = hasMore ? rows.slice(0, filter.limit) : rows;
    const items = redact ? page.map((item) => (item.annotation?.annotator === viewer.annotator ? item : { ...item, label: null, annotation: null })) : page;
    return { items, nextCursor: hasMore ? encodeCursor(page[page.length - 1].itemId) : null };
  }

  /** The bytes of an item's image stored as a file path (data-URL images are served inline). */
  async openImage(itemId: number): Promise<{ body: ReadableStream<Uint8Array>; contentType: string }> {
    const item = await findItemRef(this.db, itemId);
    if (!item || item.image === null || item.image.startsWith('data:')) throw new NotFoundError(`Image of item ${itemId}`);
    const file = this.images.open(item.image);
    if (!file) throw new NotFoundError(`Image file of item ${itemId}`);
    return file;
  }
}

export function encodeCursor(itemId: number): string {
  return Buffer.from(`i${itemId}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const match = /^i(\d{1,10})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new InvalidInputError('cursor is not one this server handed out');
  return Number(match[1]);
}
