import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { rowDot } from '../../../ml/features/feature-matrix';
import { featurize, fitFeaturizer } from '../../../ml/features/featurizer';
import { decodeImage } from '../../../ml/features/image';
import { hashText, tokenize, VECTOR_WEIGHT } from '../../../ml/features/text';
import { documentVector } from '../../../ml/features/word-vectors';
import { tinyWordVectors as tinyVectors } from '../../support/tiny-word-vectors';

describe('text features', () => {
  it('tokenises into lower-case words', () => {
    expect(tokenize('Hello, World-wide 42!')).toEqual(['hello', 'world', 'wide', '42']);
  });

  it('hashes to sorted unique buckets with counts, the same every time', () => {
    const a = hashText('the cat saw the cat');
    expect(hashText('the cat saw the cat')).toEqual(a);
    expect([...a.indices].sort((x, y) => x - y)).toEqual(a.indices);
    expect(new Set(a.indices).size).toBe(a.indices.length);
    expect(Math.max(...a.counts)).toBeGreaterThanOrEqual(2);
  });

  it('weights by sublinear tf · idf with unit L2 norm, costing only the non-zeros', () => {
    const docs = ['red apple', 'green apple', 'red car', 'apple apple apple pie'].map((t) => hashText(t, { charNgrams: null }));
    const featurizer = fitFeaturizer({ kind: 'text', items: docs, minDf: 1 });
    const matrix = featurize(featurizer, docs);
    expect(matrix.kind).toBe('sparse');
    for (let r = 0; r < 4; r++) expect(rowDot(matrix, r, r)).toBeCloseTo(1, 5);
    if (matrix.kind !== 'sparse') return;
    expect(matrix.indices.length).toBe(docs.reduce((sum, d) => sum + d.indices.length, 0));
    // "apple" (df 3) vs "pie" (df 1) in doc 3: tf 1 + ln 3 vs 1; idf ln(5/4)+1 vs ln(5/2)+1.
    const idfApple = Math.log(5 / 4) + 1;
    const idfPie = Math.log(5 / 2) + 1;
    const apple = hashText('apple', { charNgrams: null }).indices[0];
    const pie = hashText('pie', { charNgrams: null }).indices[0];
    const valueOf = (bucket: number) => {
      const column = featurizer.kind === 'text' ? featurizer.buckets.indexOf(bucket) : -1;
      for (let k = matrix.indptr[3]; k < matrix.indptr[4]; k++) {
        if (matrix.indices[k] === column) return matrix.values[k] * matrix.columnScale![column];
      }
      return 0;
    };
    expect(valueOf(apple) / valueOf(pie)).toBeCloseTo(((1 + Math.log(3)) * idfApple) / idfPie, 4);
  });
});

describe('document vectors', () => {
  it('sums the known words vectors, rarer words weighing more, to unit length; unknown words count for nothing', () => {
    // cat is row 0 (the most frequent word), hammer row 2: weights 1/1001 and 3/1003.
    const [x, y] = [1 / 1001, 3 / 1003];
    const norm = Math.hypot(x, y);
    expect(Array.from(documentVector(tinyVectors, ['cat', 'hammer', 'zebra']))).toEqual([expect.closeTo(x / norm, 6), expect.closeTo(y / norm, 6)]);
    expect(Array.from(documentVector(tinyVectors, ['zebra']))).toEqual([0, 0]);
  });

  it('follows the TF-IDF part at VECTOR_WEIGHT, so a row has length √(1 + weight²)', () => {
    const docs = ['a cat', 'a kitten', 'one hammer', 'zebra'].map((t) => hashText(t, { charNgrams: null, wordVectors: tinyVectors }));
    const featurizer = fitFeaturizer({ kind: 'text', items: docs, minDf: 1 });
    const matrix = featurize(featurizer, docs);
    expect(featurizer.kind === 'text' && matrix.width).toBe(featurizer.kind === 'text' && featurizer.buckets.length + 2);
    expect(rowDot(matrix, 0, 0)).toBeCloseTo(1 + VECTOR_WEIGHT ** 2, 5);
    // "a cat" and "a kitten" share "a" and their vectors: cos(cat, kitten) = 0.8.
    const withoutVectors = featurize(fitFeaturizer({ kind: 'text', items: docs.map(({ indices, counts }) => ({ indices, counts })), minDf: 1 }), docs);
    expect(rowDot(matrix, 0, 1) - rowDot(withoutVectors, 0, 1)).toBeCloseTo(VECTOR_WEIGHT ** 2 * 0.8, 5);
    // A document of unknown words keeps its TF-IDF part and gets zeros for the vector.
    expect(rowDot(matrix, 3, 3)).toBeCloseTo(1, 5);
  });
});

describe('vector features', () => {
  it('standardises each feature and flags missing values', () => {
    const featurizer = fitFeaturizer({ kind: 'vector', items: [[1, 10], [3, null], [5, 30]] });
    const matrix = featurize(featurizer, [[3, 20], [1, Number.NaN]]);
    expect(matrix.width).toBe(3);
    expect(Array.from(matrix.values)).toEqual([0, 0, 0, expect.closeTo(-1.2247, 3), 0, 1]);
  });
});

describe('image features', () => {
  it('decodes a PNG data URL and resizes it to a standardised RGB vector', () => {
    const png = new PNG({ width: 4, height: 4 });
    for (let p = 0; p < 16; p++) png.data.set(p < 8 ? [255, 0, 0, 255] : [0, 0, 255, 255], p * 4);
    const bytes = PNG.sync.write(png);
    const url = `data:image/png;base64,${bytes.toString('base64')}`;
    expect(decodeImage(url)).toMatchObject({ width: 4, height: 4 });
    const featurizer = fitFeaturizer({ kind: 'image', items: [new Uint8Array(bytes)], size: 2 });
    const matrix = featurize(featurizer, [url]);
    expect(matrix.width).toBe(12);
    // Top row red, bottom row blue: red channel standardises to +1 on top, −1 below.
    expect(matrix.values[0]).toBeCloseTo(1, 5);
    expect(matrix.values[6]).toBeCloseTo(-1, 5);
  });
});
