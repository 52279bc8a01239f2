/**
 * Turns an uploaded file into a stream of records, one per row, without ever holding the whole
 * file: JSON Lines and CSV are parsed as they arrive; a JSON array is parsed whole (its size is
 * bounded by the caller). A row that cannot be read becomes an error naming its line, and the
 * rows after it are still read.
 */
import { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';

export type ImportFormat = 'jsonl' | 'csv' | 'json';

export interface RowError {
  /** 1-based line in the file; for a JSON array, the 1-based position of the element. */
  line: number;
  field: string | null;
  message: string;
}

export type ParsedRow = { line: number; record: Record<string, unknown> } | { line: number; error: RowError };

export interface ParseLimits {
  /** Longest row accepted, in bytes; longer rows are reported and skipped. */
  maxRowBytes: number;
  /** Largest JSON array file accepted, in bytes. */
  maxJsonBytes: number;
}

// A JSON array is parsed whole, so it is kept small; JSON Lines and CSV stream at any size.
export const defaultParseLimits: ParseLimits = { maxRowBytes: 8 * 1024 * 1024, maxJsonBytes: 32 * 1024 * 1024 };

export class UnreadableFileError extends Error {}

export function parseRows(
  source: AsyncIterable<Uint8Array>,
  format: ImportFormat,
  limits: ParseLimits = defaultParseLimits,
): AsyncGenerator<ParsedRow> {
  switch (format) {
    case 'jsonl':
      return parseJsonLines(source, limits);
    case 'csv':
      return parseCsvRows(source, limits);
    case 'json':
      return parseJsonArray(source, limits);
  }
}

const NEWLINE = 0x0a;

/** Splits a byte stream into lines (LF or CRLF), marking lines longer than `maxBytes` as oversized. */
async function* splitLines(
  source: AsyncIterable<Uint8Array>,
  maxBytes: number,
): AsyncGenerator<{ line: number; bytes: Buffer | null }> {
  let pending: Buffer[] = [];
  let pendingSize = 0;
  let oversized = false;
  let line = 0;
  const finish = (tail: Buffer) => {
    line += 1;
    if (oversized) return { line, bytes: null };
    const bytes = pending.length === 0 ? tail : Buffer.concat([...pending, tail]);
    const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
    return { line, bytes: bytes.subarray(0, end) };
  };
  for await (const chunk of source) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let nl = buf.indexOf(NEWLINE, start); nl !== -1; nl = buf.indexOf(NEWLINE, start)) {
      if (!oversized && pendingSize + (nl - start) > maxBytes) oversized = true;
      yield finish(buf.subarray(start, nl));
      pending = [];
      pendingSize = 0;
      oversized = false;
      start = nl + 1;
    }
    if (start < buf.length) {
      const rest = buf.subarray(start);
      pendingSize += rest.length;
      if (pendingSize > maxBytes) {
        oversized = true;
        pending = [];
      } else {
        // Copy: the chunk's memory may be reused by the stream after we return.
        pending.push(Buffer.from(rest));
      }
    }
  }
  if (pendingSize > 0 || oversized) yield finish(Buffer.alloc(0));
}

async function* parseJsonLines(source: AsyncIterable<Uint8Array>, limits: ParseLimits): AsyncGenerator<ParsedRow> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for await (const { line, bytes } of splitLines(source, limits.maxRowBytes)) {
    if (bytes === null) {
      yield rowError(line, null, `row is longer than ${formatBytes(limits.maxRowBytes)}`);
      continue;
    }
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      yield rowError(line, null, 'row is not valid UTF-8');
      continue;
    }
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      yield rowError(line, null, `row is not valid JSON (${(err as Error).message})`);
      continue;
    }
    yield toRecord(line, value);
  }
}

async function* parseJsonArray(source: AsyncIterable<Uint8Array>, limits: ParseLimits): AsyncGenerator<ParsedRow> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += chunk.byteLength;
    if (size > limits.maxJsonBytes) {
      throw new UnreadableFileError(
        `a JSON array file may be at most ${formatBytes(limits.maxJsonBytes)}; send larger files as JSON Lines`,
      );
    }
    chunks.push(Buffer.from(chunk));
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new UnreadableFileError('the file is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UnreadableFileError(`the file is not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(value)) throw new UnreadableFileError('a JSON file must hold an array of rows');
  for (let i = 0; i < value.length; i++) yield toRecord(i + 1, value[i]);
}

async function* parseCsvRows(source: AsyncIterable<Uint8Array>, limits: ParseLimits): AsyncGenerator<ParsedRow> {
  const parser = Readable.from(source).pipe(
    parseCsv({
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      max_record_size: limits.maxRowBytes,
    }),
  );
  // Records the parser had to skip (bad quoting, oversized) are reported in line order.
  const skipped: RowError[] = [];
  parser.on('skip', (err: Error & { lines?: number }) => {
    skipped.push({ line: err.lines ?? 0, field: null, message: describeCsvError(err, limits) });
  });
  let header: string[] | undefined;
  const records = parser as AsyncIterable<{ record: string[]; info: { lines: number } }>;
  try {
    for await (const parsed of records) {
      while (skipped.length > 0) yield { line: skipped[0].line, error: skipped.shift()! };
      if (header === undefined) {
        header = readHeader(parsed.record);
        continue;
      }
      yield csvRecord(header, parsed.record, parsed.info.lines);
    }
  } catch (err) {
    const csvErr = err as Error & { code?: string; lines?: number };
    // The parser stops at an error it cannot skip (a quote left open at the end of the file).
    if (typeof csvErr.code !== 'string' || !csvErr.code.startsWith('CSV_')) throw err;
    skipped.push({ line: csvErr.lines ?? 0, field: null, message: describeCsvError(csvErr, limits) });
  }
  while (skipped.length > 0) yield { line: skipped[0].line, error: skipped.shift()! };
  if (header === undefined) throw new UnreadableFileError('the CSV file is empty: it needs a header row');
}

function readHeader(record: string[]): string[] {
  const header = record.map((name) => name.trim());
  const duplicate = header.find((name, i) => header.indexOf(name) !== i);
  if (duplicate !== undefined) throw new UnreadableFileError(`the CSV header names column "${duplicate}" twice`);
  return header;
}

function csvRecord(header: string[], record: string[], line: number): ParsedRow {
  if (record.length !== header.length) {
    return rowError(line, null, `row has ${record.length} cells but the header has ${header.length}`);
  }
  const badCell = record.findIndex((cell) => cell.includes('\uFFFD'));
  if (badCell !== -1) return rowError(line, header[badCell], 'cell is not valid UTF-8');
  // A null-prototype object: a column named "__proto__" stays an ordinary key.
  const out: Record<string, unknown> = Object.create(null);
  for (let i = 0; i < header.length; i++) out[header[i]] = record[i];
  return { line, record: out };
}

function describeCsvError(err: Error & { code?: string }, limits: ParseLimits): string {
  if (err.code === 'CSV_MAX_RECORD_SIZE') return `row is longer than ${formatBytes(limits.maxRowBytes)}`;
  if (err.code === 'CSV_QUOTE_NOT_CLOSED') return 'a quoted cell is never closed';
  return `row is not valid CSV (${err.message.replace(/\s+/g, ' ').slice(0, 160)})`;
}

function toRecord(line: number, value: unknown): ParsedRow {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return rowError(line, null, 'row must be a JSON object');
  }
  return { line, record: value as Record<string, unknown> };
}

function rowError(line: number, field: string | null, message: string): ParsedRow {
  return { line, error: { line, field, message } };
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round(bytes / 1024 / 1024)} MiB` : `${Math.round(bytes / 1024)} KiB`;
}
