import { Hono } from 'hono';
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { ImportFormat } from '../import/parse-rows.js';
import type { ImportService } from '../services/import.service.js';
import type { ItemService, ItemWithAnnotation } from '../services/item.service.js';
import { itemContentJson } from './item-content.json.js';
import { itemParams, projectParams } from './params.js';
import { validate } from './validate.js';


const listQuery = z.object({
  status: z.enum(['unlabeled', 'labeled']).optional(),
  label: z.string().min(1).optional(),
  cursor: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const formatByType: Record<string, ImportFormat> = {
  'application/x-ndjson': 'jsonl',
  'application/jsonl': 'jsonl',
  'application/json-lines': 'jsonl',
  'application/json': 'json',
  'text/csv': 'csv',
};

export function projectItemRoutes(imports: ImportService, items: ItemService) {
  return new Hono()
    .post('/:projectId/items', validate('param', projectParams), async (c) => {
      const type = (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
      const format = formatByType[type];
      if (!format) {
        throw new AppError(415, 'unsupported_media_type', 'Send items as application/x-ndjson, text/csv or application/json', {
          contentType: type || null,
        });
      }
      const body = c.req.raw.body ?? emptyBody();
      const result = await imports.importItems(c.req.valid('param').projectId, body, format);
      return c.json(result, 200);
    })
    .get('/:projectId/items', validate('param', projectParams), validate('query', listQuery), async (c) => {
      const page = await items.list(c.req.valid('param').projectId, c.req.valid('query'));
      return c.json({ items: page.items.map(toItemJson), nextCursor: page.nextCursor });
    });
}

export function itemRoutes(items: ItemService) {
  return new Hono().get('/:itemId/image', validate('param', itemParams), async (c) => {
    const image = await items.openImage(c.req.valid('param').itemId);
    return c.body(image.body, 200, { 'Content-Type': image.contentType, 'Cache-Control': 'private, max-age=3600' });
  });
}

function toItemJson(item: ItemWithAnnotation) {
  return {
    id: item.itemId,
    externalId: item.externalId,
    ...itemContentJson(item),
    label: item.label,
    annotation: item.annotation && { ...item.annotation, createdAt: item.annotation.createdAt.toISOString() },
    suggestion: item.suggestion,
    createdAt: item.createdAt.toISOString(),
  };
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {}
