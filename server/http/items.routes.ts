import { Hono } from 'hono';
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { ImportFormat } from '../import/parse-rows.js';
import type { ImportService } from '../services/import.service.js';
import type { ItemService, ItemWithAnnotation } from '../services/item.service.js';
import { itemContentJson } from './item-content.json.js';
import { principalOf, requireProjectRole } from './auth.middleware.js';
import { requestMediaType } from './node-request.js';
import { itemParams, projectParams } from './params.js';
import { rateLimit } from './rate-limit.js';
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
    .post('/:projectId/items', requireProjectRole('engineer'), rateLimit('expensive'), validate('param', projectParams), async (c) => {
      const type = requestMediaType(c);
      const format = formatByType[type];
      if (!format) {
        throw new AppError(415, 'unsupported_media_type', 'Send items as application/x-ndjson, text/csv or application/json', {
          contentType: type || null,
        });
      }
      const declared = Number(c.req.header('content-length') ?? 0);
      if (declared > maxImportBytes) throw tooLarge();
      const body = c.req.raw.body ? capped(c.req.raw.body, maxImportBytes) : emptyBody();
      const result = await imports.importItems(c.req.valid('param').projectId, body, format, principalOf(c).email);
      return c.json(result, 200);
    })
    .get('/:projectId/items', requireProjectRole('annotator'), validate('param', projectParams), validate('query', listQuery), async (c) => {
      const viewer = { annotator: principalOf(c).email, seesAllLabels: c.get('projectRole') !== 'annotator' };
      const page = await items.list(c.req.valid('param').projectId, c.req.valid('query'), viewer);
      return c.json({ items: page.items.map(toItemJson), nextCursor: page.nextCursor });
    });
}

export function itemRoutes(items: ItemService) {
  return new Hono().get('/:itemId/image', requireProjectRole('annotator'), validate('param', itemParams), async (c) => {
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

/** Imports stream at any size up to this; larger uploads are refused, by Content-Length before reading. */
export const maxImportBytes = 4 * 1024 ** 3;

function tooLarge(): AppError {
  return new AppError(413, 'payload_too_large', `An import may be at most ${maxImportBytes / 1024 ** 3} GiB`);
}

async function* capped(body: ReadableStream<Uint8Array>, maxBytes: number): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > maxBytes) throw tooLarge();
    yield chunk;
  }
}
