/**
 * Checks one imported record against the project's kind and label set and turns it into an
 * item draft, or says which field is wrong and why.
 */
import type { ItemKind } from '../db/schema.js';

export interface ItemDraft {
  externalId: string;
  text: string | null;
  features: Array<number | null> | null;
  image: string | null;
  label: string | null;
}

export interface RowContext {
  kind: ItemKind;
  labels: ReadonlySet<string>;
  /** Length every feature row must have; null until the project's first vector is stored. */
  vectorDim: number | null;
  /** Answers why an image path is unusable, or null when it is fine. */
  checkImagePath(relativePath: string): string | null;
}

export type RowCheck = { draft: ItemDraft } | { field: string; message: string };

export const itemLimits = {
  maxExternalIdLength: 256,
  maxTextLength: 200_000,
  maxFeatures: 10_000,
  maxImageDataUrlLength: 10 * 1024 * 1024,
} as const;

const contentField = { text: 'text', vector: 'features', image: 'image' } as const satisfies Record<ItemKind, string>;
const imageDataUrl = /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+={0,2}$/;

export function checkItemRow(record: Record<string, unknown>, ctx: RowContext): RowCheck {
  const externalId = readExternalId(record.id);
  if (typeof externalId !== 'string') return { field: 'id', message: externalId.message };

  const field = contentField[ctx.kind];
  const raw = record[field];
  if (raw === undefined || raw === null || (raw === '' && ctx.kind !== 'text')) {
    return { field, message: `${field} is required for ${ctx.kind} items` };
  }
  let text: string | null = null;
  let features: Array<number | null> | null = null;
  let image: string | null = null;
  switch (ctx.kind) {
    case 'text': {
      if (typeof raw !== 'string') return { field, message: 'text must be a string' };
      if (raw.trim() === '') return { field, message: 'text is empty' };
      if (raw.length > itemLimits.maxTextLength) {
        return { field, message: `text is longer than ${itemLimits.maxTextLength.toLocaleString('en')} characters` };
      }
      text = raw;
      break;
    }
    case 'vector': {
      const parsed = readFeatures(raw, ctx.vectorDim);
      if (!Array.isArray(parsed)) return { field, message: parsed.message };
      features = parsed;
      break;
    }
    case 'image': {
      if (typeof raw !== 'string') return { field, message: 'image must be a data URL or a file path' };
      if (raw.startsWith('data:')) {
        if (raw.length > itemLimits.maxImageDataUrlLength) return { field, message: 'image data URL is larger than 10 MiB' };
        if (!imageDataUrl.test(raw)) {
          return { field, message: 'image data URL must be base64 PNG, JPEG, GIF or WebP (data:image/png;base64,…)' };
        }
      } else {
        const problem = ctx.checkImagePath(raw);
        if (problem !== null) return { field, message: problem };
      }
      image = raw;
      break;
    }
  }

  const label = readLabel(record.label, ctx.labels);
  if (label !== null && typeof label !== 'string') return { field: 'label', message: label.message };
  return { draft: { externalId, text, features, image, label } };
}

function readExternalId(value: unknown): string | { message: string } {
  if (value === undefined || value === null || value === '') return { message: 'id is required' };
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return { message: 'id must be a string or a number' };
  const id = value.trim();
  if (id === '') return { message: 'id is empty' };
  if (id.length > itemLimits.maxExternalIdLength) {
    return { message: `id is longer than ${itemLimits.maxExternalIdLength} characters` };
  }
  return id;
}

function readLabel(value: unknown, labels: ReadonlySet<string>): string | null | { message: string } {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') return { message: 'label must be a string' };
  if (!labels.has(value)) return { message: `label "${truncate(value)}" is not in the project's label set` };
  return value;
}

/** Accepts a number array (null for a missing value) or, from CSV, "1.5, 2, -3" or "[1.5,2,-3]". */
function readFeatures(value: unknown, expected: number | null): Array<number | null> | { message: string } {
  let cells: unknown[];
  if (Array.isArray(value)) {
    cells = value;
  } else if (typeof value === 'string') {
    const inner = value.trim().replace(/^\[/, '').replace(/\]$/, '');
    cells = inner.split(/[,;\s]+/).map((cell) => (cell === '' || /^(null|nan)$/i.test(cell) ? null : Number(cell)));
  } else {
    return { message: 'features must be an array of numbers' };
  }
  if (cells.length === 0) return { message: 'features is empty' };
  if (cells.length > itemLimits.maxFeatures) return { message: `features has more than ${itemLimits.maxFeatures} values` };
  const out: Array<number | null> = new Array(cells.length);
  for (let i = 0; i < cells.length; i++) {
    const cell = cells[i];
    if (cell === null) out[i] = null;
    else if (typeof cell === 'number' && Number.isFinite(cell)) out[i] = cell;
    else return { message: `features[${i}] is not a finite number` };
  }
  if (expected !== null && out.length !== expected) {
    return { message: featureLengthMismatch(out.length, expected) };
  }
  return out;
}

export function featureLengthMismatch(actual: number, expected: number): string {
  return `features has ${actual} values; this project's items have ${expected}`;
}

function truncate(value: string): string {
  return value.length > 60 ? `${value.slice(0, 57)}...` : value;
}
