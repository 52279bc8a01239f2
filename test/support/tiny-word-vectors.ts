import type { WordVectors } from '../../ml/index.js';

/** Four words in two dimensions: cat near kitten, hammer near wrench. */
export const tinyWordVectors: WordVectors = {
  name: 'tiny',
  dimensions: 2,
  rows: new Map([
    ['cat', 0],
    ['kitten', 1],
    ['hammer', 2],
    ['wrench', 3],
  ]),
  values: Float32Array.from([1, 0, 0.8, 0.6, 0, 1, 0.28, 0.96]),
};
