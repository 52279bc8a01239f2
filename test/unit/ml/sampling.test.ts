import { describe, expect, it } from 'vitest';
import { selectBatch } from '../../../ml/sampling/select-batch';
import { entropyScore, leastConfidenceScore, marginScore } from '../../../ml/sampling/uncertainty';
import { kCenterGreedy } from '../../../ml/sampling/k-center';
import { weightedKMeansPick } from '../../../ml/sampling/k-means';
import { createRandom } from '../../../ml/seeded-random';
import { selectRows, type SparseMatrix } from '../../../ml/features/feature-matrix';

const table = [
  [0.9, 0.05, 0.05], // confident
  [0.4, 0.35, 0.25], // close call between the first two
  [0.34, 0.33, 0.33], // nearly uniform
  [0.6, 0.4, 0.0], // two-way split
];
const warm = [5, 5, 5];

describe('uncertainty scores', () => {
  it('scores a uniform row 1 and a one-hot row 0', () => {
    for (const score of [leastConfidenceScore, marginScore, entropyScore]) {
      expect(score([0.25, 0.25, 0.25, 0.25])).toBeCloseTo(1, 10);
      expect(score([1, 0, 0, 0])).toBeCloseTo(0, 10);
    }
  });

  it('computes margin, least confidence and entropy by hand', () => {
    expect(marginScore([0.6, 0.4, 0])).toBeCloseTo(0.8, 10);
    expect(leastConfidenceScore([0.6, 0.4, 0])).toBeCloseTo((0.4 * 3) / 2, 10);
    expect(entropyScore([0.5, 0.5, 0])).toBeCloseTo(Math.log(2) / Math.log(3), 10);
  });
});

describe('selectBatch', () => {
  it('ranks by the chosen score and explains each pick', () => {
    const margin = selectBatch({ strategy: 'margin', probabilities: table, n: 2, seed: 1, labeledCountsPerLabel: warm });
    expect(margin.map((p) => p.index)).toEqual([2, 1]);
    expect(margin[0]).toEqual({ index: 2, strategy: 'margin', score: expect.closeTo(0.99, 10) });

    const confidence = selectBatch({ strategy: 'least-confidence', probabilities: table, n: 1, seed: 1, labeledCountsPerLabel: warm });
    expect(confidence.map((p) => p.index)).toEqual([2]);
    const entropy = selectBatch({ strategy: 'entropy', probabilities: table, n: 4, seed: 1, labeledCountsPerLabel: warm });
    expect(entropy.map((p) => p.index)).toEqual([2, 1, 3, 0]);
  });

  it('breaks ties in score towards the earlier candidate', () => {
    const probabilities = Array.from({ length: 50 }, (_, i) => (i % 10 === 3 ? [0.5, 0.5] : [0.9, 0.1]));
    const picks = selectBatch({ strategy: 'margin', probabilities, n: 3, seed: 1, labeledCountsPerLabel: [5, 5] });
    expect(picks.map((p) => p.index)).toEqual([3, 13, 23]);
  });

  it('falls back to seeded random picks while some label has too few examples', () => {
    const picks = selectBatch({ strategy: 'margin', probabilities: table, n: 3, seed: 7, labeledCountsPerLabel: { a: 4, b: 1, c: 3 } });
    expect(picks.every((p) => p.strategy === 'cold-start')).toBe(true);
    expect(new Set(picks.map((p) => p.index)).size).toBe(3);
    const again = selectBatch({ strategy: 'margin', probabilities: table, n: 3, seed: 7, labeledCountsPerLabel: { a: 4, b: 1, c: 3 } });
    expect(again).toEqual(picks);
  });

  it('picks randomly before any model exists', () => {
    const picks = selectBatch({ strategy: 'badge', probabilities: null, poolSize: 10, n: 4, seed: 3 });
    expect(picks).toHaveLength(4);
    expect(picks.every((p) => p.strategy === 'cold-start' && p.index >= 0 && p.index < 10)).toBe(true);
  });

  it('never picks near-duplicates in a batch-aware strategy', () => {
    // Items 0–2 are equally uncertain copies; item 3 is a little less uncertain but elsewhere.
    const probabilities = [
      [0.5, 0.5],
      [0.5, 0.5],
      [0.5, 0.5],
      [0.55, 0.45],
      [0.99, 0.01],
    ];
    const representations = [[0, 0], [0, 0.001], [0.001, 0], [5, 5], [9, 9]];
    const picks = selectBatch({
      strategy: 'cluster-margin',
      probabilities,
      representations,
      n: 2,
      seed: 1,
      candidateFactor: 2,
      labeledCountsPerLabel: [3, 3],
    });
    expect(picks.map((p) => p.index).sort()).toEqual([0, 3]);
  });

  it('mixes random and diverse-uncertain picks in the default strategy without repeats', () => {
    const probabilities = Array.from({ length: 50 }, (_, i) => [i / 50, 1 - i / 50]);
    const representations = probabilities.map((row) => [row[0]]);
    const picks = selectBatch({ strategy: 'mixed-margin', probabilities, representations, n: 10, seed: 4, labeledCountsPerLabel: [5, 5] });
    expect(picks).toHaveLength(10);
    expect(new Set(picks.map((p) => p.index)).size).toBe(10);
    expect(picks.filter((p) => p.strategy === 'random')).toHaveLength(5);
    expect(picks.filter((p) => p.strategy === 'cluster-margin')).toHaveLength(5);
  });
});

describe('kCenterGreedy', () => {
  it('starts from the highest priority and then takes the farthest point', () => {
    const points = [[0], [1], [10], [11], [5]];
    expect(kCenterGreedy([0, 1, 2, 3, 4], points, [0, 1, 0, 0, 0], 3)).toEqual([1, 3, 4]);
  });
});

describe('weightedKMeansPick', () => {
  // Three tight groups on a line; the weights favour the middle item of each group.
  const points = [[0], [0.1], [0.2], [10], [10.1], [10.2], [20], [20.1], [20.2]];
  const weights = [0.1, 0.9, 0.1, 0.1, 0.9, 0.1, 0.1, 0.9, 0.1];

  it('takes the item nearest each centroid, one per group', () => {
    const picks = weightedKMeansPick([0, 1, 2, 3, 4, 5, 6, 7, 8], { representations: points }, weights, 3, createRandom(1));
    expect(picks.slice().sort((a, b) => a - b)).toEqual([1, 4, 7]);
  });

  it('returns distinct candidates only, and all of them when there are no more than n', () => {
    const picks = weightedKMeansPick([0, 1, 2, 3, 4, 5, 6, 7, 8], { representations: points }, weights, 6, createRandom(2));
    expect(new Set(picks).size).toBe(6);
    expect(weightedKMeansPick([2, 5], { representations: points }, weights, 3, createRandom(2))).toEqual([2, 5]);
  });

  it('fills the batch when candidates coincide', () => {
    const same = [[1], [1], [1], [1]];
    const picks = weightedKMeansPick([0, 1, 2, 3], { representations: same }, [0.1, 0.4, 0.3, 0.2], 2, createRandom(3));
    expect(picks).toEqual([1, 2]);
  });

  it('clusters sparse feature rows by their scaled values', () => {
    // Rows 0–1 share column 3, rows 2–3 share column 7 (as unit TF-IDF rows).
    const features: SparseMatrix = {
      kind: 'sparse',
      rows: 4,
      width: 8,
      indptr: Int32Array.from([0, 1, 2, 3, 4]),
      indices: Int32Array.from([3, 3, 7, 7]),
      values: Float32Array.from([1, 1, 1, 1]),
    };
    const picks = weightedKMeansPick([0, 1, 2, 3], { features }, [0.5, 0.6, 0.9, 0.2], 2, createRandom(4));
    expect(picks.slice().sort((a, b) => a - b)).toEqual([1, 2]);
  });
});

describe("selectBatch 'kmeans-margin'", () => {
  // Items 0–2 are uncertain near-copies, 3 is uncertain elsewhere, 4–5 are confident.
  const probabilities = [
    [0.5, 0.5],
    [0.52, 0.48],
    [0.51, 0.49],
    [0.55, 0.45],
    [0.99, 0.01],
    [0.98, 0.02],
  ];
  const points = [[0, 0], [0, 0.001], [0.001, 0], [5, 5], [9, 9], [9, 9.1]];
  const request = { strategy: 'kmeans-margin' as const, probabilities, n: 2, seed: 1, candidateFactor: 2, labeledCountsPerLabel: [3, 3], randomShare: 0 };

  it('picks one uncertain item per region of feature space', () => {
    const picks = selectBatch({ ...request, representations: points });
    expect(picks.map((p) => p.index).sort()).toEqual([0, 3]);
    expect(picks.every((p) => p.strategy === 'kmeans-margin')).toBe(true);
  });

  it('reads the candidates from a project-wide feature matrix through their rows', () => {
    // The candidates' features sit at rows 6, 1, 4, 0, 3 and 2 of a matrix that also holds labeled items (5, 7).
    const featureRows = [6, 1, 4, 0, 3, 2];
    const values = new Float32Array(8 * 2).fill(-7);
    featureRows.forEach((row, i) => values.set(points[i], row * 2));
    const features = { kind: 'dense' as const, rows: 8, width: 2, values };
    const picks = selectBatch({ ...request, features, featureRows });
    expect(picks.map((p) => p.index).sort()).toEqual([0, 3]);
    expect(picks).toEqual(selectBatch({ ...request, features: selectRows(features, featureRows) }));
  });

  it('spends a share of the batch on random picks that shrinks as labels accumulate', () => {
    const probabilities = Array.from({ length: 200 }, (_, i) => [i / 200, 1 - i / 200]);
    const randomCount = (labeled: number) =>
      selectBatch({ strategy: 'kmeans-margin', probabilities, n: 20, seed: 5, labeledCountsPerLabel: [labeled / 2, labeled / 2] }).filter(
        (p) => p.strategy === 'random',
      ).length;
    // 1 / (1 + (labels / 40)²) of 20 picks.
    expect(randomCount(40)).toBe(10);
    expect(randomCount(120)).toBe(2);
    expect(randomCount(400)).toBe(0);
    const picks = selectBatch({ strategy: 'kmeans-margin', probabilities, n: 20, seed: 5, labeledCountsPerLabel: [25, 25] });
    expect(new Set(picks.map((p) => p.index)).size).toBe(20);
  });
});
