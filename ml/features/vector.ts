/**
 * Numeric vectors: each feature is standardised with the mean and standard deviation fitted on the
 * project's items. A missing value (null, undefined or NaN) becomes the mean (0 after
 * standardisation), and every feature that had gaps in the fit gets an extra 0/1 "was missing" column.
 */
import type { DenseMatrix } from './feature-matrix';

export type NumericVector = readonly (number | null | undefined)[];

export interface VectorFeaturizer {
  kind: 'vector';
  means: number[];
  stds: number[];
  /** Features that get a missing-indicator column, in column order after the standardised ones. */
  missingIndicators: number[];
}

function isMissing(value: number | null | undefined): value is null | undefined {
  return value === null || value === undefined || Number.isNaN(value);
}

export function fitVectorFeaturizer(items: readonly NumericVector[]): VectorFeaturizer {
  const width = items.reduce((max, item) => Math.max(max, item.length), 0);
  const sums = new Float64Array(width);
  const squares = new Float64Array(width);
  const present = new Float64Array(width);
  for (const item of items) {
    for (let j = 0; j < width; j++) {
      const value = item[j];
      if (isMissing(value)) continue;
      sums[j] += value;
      squares[j] += value * value;
      present[j]++;
    }
  }
  const means: number[] = [];
  const stds: number[] = [];
  const missingIndicators: number[] = [];
  for (let j = 0; j < width; j++) {
    const mean = present[j] > 0 ? sums[j] / present[j] : 0;
    const variance = present[j] > 0 ? squares[j] / present[j] - mean * mean : 0;
    means.push(mean);
    stds.push(variance > 1e-12 ? Math.sqrt(variance) : 1);
    if (present[j] < items.length) missingIndicators.push(j);
  }
  return { kind: 'vector', means, stds, missingIndicators };
}

export function transformVectors(featurizer: VectorFeaturizer, items: readonly NumericVector[]): DenseMatrix {
  const d = featurizer.means.length;
  const width = d + featurizer.missingIndicators.length;
  const values = new Float32Array(items.length * width);
  items.forEach((item, row) => {
    const offset = row * width;
    for (let j = 0; j < d; j++) {
      const value = item[j];
      values[offset + j] = isMissing(value) ? 0 : (value - featurizer.means[j]) / featurizer.stds[j];
    }
    featurizer.missingIndicators.forEach((j, k) => {
      values[offset + d + k] = isMissing(item[j]) ? 1 : 0;
    });
  });
  return { kind: 'dense', rows: items.length, width, values };
}
