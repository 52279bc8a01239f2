import { stringify } from 'csv-stringify/sync';
import type { Kysely } from 'kysely';
import type { Database, ItemKind } from '../db/schema.js';
import { listItems, type ItemWithAnnotation } from '../repositories/item.repository.js';
import type { ProjectService } from './project.service.js';

export type ExportFormat = 'jsonl' | 'csv';

const pageSize = 2000;

export class ExportService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly projects: ProjectService,
  ) {}

  /**
   * Every labeled item with its label and provenance, produced page by page (keyset over the
   * item id) so memory stays flat and the database is never held by one long query.
   */
  async open(projectId: number, format: ExportFormat): Promise<{ filename: string; chunks: AsyncIterable<string> }> {
    const project = await this.projects.require(projectId);
    const slug = project.name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-|-$/g, '') || 'project';
    return {
      filename: `${slug}-${projectId}-labels.${format}`,
      chunks: this.generate(projectId, project.kind, format),
    };
  }

  private async *generate(projectId: number, kind: ItemKind, format: ExportFormat): AsyncGenerator<string> {
    const content = { text: 'text', vector: 'features', image: 'image' }[kind];
    if (format === 'csv') yield stringify([['id', content, 'label', 'annotator', 'source', 'annotated_at']]);
    let afterItemId: number | undefined;
    for (;;) {
      const page = await listItems(this.db, { projectId, status: 'labeled', afterItemId, limit: pageSize });
      if (page.length === 0) return;
      yield format === 'csv' ? stringify(page.map((item) => csvRow(item, kind))) : page.map(jsonLine).join('');
      if (page.length < pageSize) return;
      afterItemId = page[page.length - 1].itemId;
    }
  }
}

function contentOf(item: ItemWithAnnotation): { text?: string; features?: Array<number | null>; image?: string } {
  if (item.text !== null) return { text: item.text };
  if (item.features !== null) return { features: item.features };
  if (item.image !== null) return { image: item.image };
  return {};
}

function jsonLine(item: ItemWithAnnotation): string {
  return (
    JSON.stringify({
      id: item.externalId,
      ...contentOf(item),
      label: item.label,
      annotator: item.annotation?.annotator ?? null,
      source: item.annotation?.source ?? null,
      annotatedAt: item.annotation?.createdAt.toISOString() ?? null,
    }) + '\n'
  );
}

function csvRow(item: ItemWithAnnotation, kind: ItemKind): string[] {
  const content = kind === 'vector' ? JSON.stringify(item.features) : (item.text ?? item.image ?? '');
  return [
    item.externalId,
    content,
    item.label ?? '',
    item.annotation?.annotator ?? '',
    item.annotation?.source ?? '',
    item.annotation?.createdAt.toISOString() ?? '',
  ].map(neutraliseFormula);
}

/**
 * Spreadsheet programs run a cell that starts with = + - @ (or a tab or carriage return) as a
 * formula; a leading apostrophe makes them show it as text instead.
 */
export function neutraliseFormula(cell: string): string {
  return /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
}
