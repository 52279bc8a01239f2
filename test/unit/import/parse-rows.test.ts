import { describe, expect, it } from 'vitest';
import { type ImportFormat, type ParsedRow, parseRows, UnreadableFileError } from '../../../server/import/parse-rows.js';

async function collect(input: string | Buffer | Buffer[], format: ImportFormat, maxRowBytes = 1024): Promise<ParsedRow[]> {
  const chunks = Array.isArray(input) ? input : [Buffer.from(input)];
  async function* source() {
    for (const chunk of chunks) yield chunk;
  }
  const rows: ParsedRow[] = [];
  for await (const row of parseRows(source(), format, { maxRowBytes, maxJsonBytes: 4096 })) rows.push(row);
  return rows;
}

const records = (rows: ParsedRow[]): Array<Record<string, unknown>> =>
  rows.flatMap((r) => ('record' in r ? [{ line: r.line, ...r.record }] : []));
const errors = (rows: ParsedRow[]) => rows.flatMap((r) => ('error' in r ? [r.error] : []));

describe('JSON Lines', () => {
  it('reads LF and CRLF lines, skips blank lines, and strips a byte-order mark', async () => {
    const rows = await collect('\uFEFF{"id":1}\r\n\r\n{"id":2}\n{"id":3}', 'jsonl');
    expect(records(rows)).toEqual([
      { line: 1, id: 1 },
      { line: 3, id: 2 },
      { line: 4, id: 3 },
    ]);
  });

  it('reassembles rows split across chunks, even inside a multi-byte character', async () => {
    const bytes = Buffer.from('{"id":"é"}\n{"id":"ü"}\n');
    const rows = await collect([bytes.subarray(0, 8), bytes.subarray(8, 15), bytes.subarray(15)], 'jsonl');
    expect(records(rows)).toEqual([
      { line: 1, id: 'é' },
      { line: 2, id: 'ü' },
    ]);
  });

  it('reports bad JSON, bad UTF-8, non-objects and a truncated last line, and keeps reading', async () => {
    const file = Buffer.concat([
      Buffer.from('{"id":1}\n{"id":\n'),
      Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d, 0x0a]),
      Buffer.from('[1,2]\n{"id":5}\n{"id":6,"te'),
    ]);
    const rows = await collect(file, 'jsonl');
    expect(records(rows).map((r) => r.line)).toEqual([1, 5]);
    expect(errors(rows)).toEqual([
      expect.objectContaining({ line: 2, message: expect.stringContaining('not valid JSON') }),
      { line: 3, field: null, message: 'row is not valid UTF-8' },
      { line: 4, field: null, message: 'row must be a JSON object' },
      expect.objectContaining({ line: 6, message: expect.stringContaining('not valid JSON') }),
    ]);
  });

  it('skips an oversized row without buffering it and reads the rows after it', async () => {
    const huge = `{"id":2,"text":"${'x'.repeat(5000)}"}`;
    const rows = await collect([Buffer.from('{"id":1}\n' + huge.slice(0, 2000)), Buffer.from(huge.slice(2000) + '\n{"id":3}\n')], 'jsonl');
    expect(records(rows).map((r) => r.id)).toEqual([1, 3]);
    expect(errors(rows)).toEqual([{ line: 2, field: null, message: 'row is longer than 1 KiB' }]);
  });

  it('keeps a "__proto__" key as plain data', async () => {
    const [row] = records(await collect('{"id":1,"__proto__":{"polluted":true}}', 'jsonl'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
  });
});

describe('CSV', () => {
  it('reads a header, quoted cells with commas and newlines, CRLF and a BOM', async () => {
    const rows = await collect('\uFEFFid,text,label\r\n1,"hello, ""world""\r\nsecond line",bug\r\n2,plain,\r\n', 'csv');
    expect(records(rows)).toEqual([
      expect.objectContaining({ id: '1', text: 'hello, "world"\r\nsecond line', label: 'bug' }),
      expect.objectContaining({ id: '2', text: 'plain', label: '' }),
    ]);
  });

  it('reports rows with the wrong number of cells or bad UTF-8, and keeps the good ones', async () => {
    const file = Buffer.concat([Buffer.from('id,text\n1,a\n2,b,extra\n3,'), Buffer.from([0xc3, 0x28]), Buffer.from('\n4,d\n')]);
    const rows = await collect(file, 'csv');
    expect(records(rows).map((r) => r.id)).toEqual(['1', '4']);
    expect(errors(rows)).toEqual([
      { line: 3, field: null, message: 'row has 3 cells but the header has 2' },
      { line: 4, field: 'text', message: 'cell is not valid UTF-8' },
    ]);
  });

  it('reports a quote left open at the end of the file instead of failing', async () => {
    const rows = await collect('id,text\n1,a\n2,"never closed\n', 'csv');
    expect(records(rows).map((r) => r.id)).toEqual(['1']);
    expect(errors(rows)).toEqual([expect.objectContaining({ message: 'a quoted cell is never closed' })]);
  });

  it('stores a "__proto__" column as an ordinary field', async () => {
    const [row] = records(await collect('id,__proto__\n1,x\n', 'csv'));
    expect(Object.keys(row)).toContain('__proto__');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('rejects a header that names a column twice', async () => {
    await expect(collect('id,id\n1,2\n', 'csv')).rejects.toThrow(UnreadableFileError);
  });
});

describe('JSON array', () => {
  it('numbers rows by their position in the array', async () => {
    const rows = await collect('[{"id":"a"}, 7, {"id":"b"}]', 'json');
    expect(records(rows)).toEqual([
      { line: 1, id: 'a' },
      { line: 3, id: 'b' },
    ]);
    expect(errors(rows)).toEqual([{ line: 2, field: null, message: 'row must be a JSON object' }]);
  });

  it('refuses a file that is not an array, not JSON, or too large', async () => {
    await expect(collect('{"id":1}', 'json')).rejects.toThrow('must hold an array');
    await expect(collect('[{"id":1}', 'json')).rejects.toThrow('not valid JSON');
    await expect(collect(`[${'{"id":1},'.repeat(1000)}{"id":2}]`, 'json')).rejects.toThrow('at most 4 KiB');
  });
});
