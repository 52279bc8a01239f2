/**
 * Weighted k-means over a short list of candidates (Zhdanov, "Diverse mini-batch active learning",
 * 2019): cluster the most uncertain items, weighting each by its uncertainty, and label the item
 * nearest each centroid. Unlike k-center, which chases the farthest outliers, this picks one typical
 * item per uncertain region, so a batch covers many confusions without spending labels on oddities.
 */
import type { FeatureMatrix } from '../features/feature-matrix';
import type { Representation } from './k-center';

/** Candidate rows as dense vectors of one width. */
interface CompactRows {
  width: number;
  values: Float64Array[];
}

/**
 * Sparse rows are count-sketched into SKETCH_WIDTH dense dimensions (each column added with a
 * hashed sign to a hashed bucket), which keeps inner products in expectation; long documents with
 * thousands of non-zeros would otherwise make every distance a slow scattered walk.
 */
const SKETCH_WIDTH = 512;

function bucketOf(column: number): number {
  let h = Math.imul(column ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function fromMatrix(matrix: FeatureMatrix, candidateRows: readonly number[]): CompactRows {
  if (matrix.kind === 'dense') {
    return {
      width: matrix.width,
      values: candidateRows.map((r) => Float64Array.from(matrix.values.subarray(r * matrix.width, (r + 1) * matrix.width))),
    };
  }
  const values = candidateRows.map((r) => {
    const row = new Float64Array(SKETCH_WIDTH);
    const rowScale = matrix.rowScale ? matrix.rowScale[r] : 1;
    for (let k = matrix.indptr[r]; k < matrix.indptr[r + 1]; k++) {
      const column = matrix.indices[k];
      const hash = bucketOf(column);
      const value = rowScale * matrix.values[k] * (matrix.columnScale ? matrix.columnScale[column] : 1);
      row[hash % SKETCH_WIDTH] += hash & 0x80000000 ? -value : value;
    }
    if (matrix.dense) {
      const { width, values: dense } = matrix.dense;
      const start = matrix.width - width;
      for (let j = 0; j < width; j++) {
        const hash = bucketOf(start + j);
        const value = dense[r * width + j] * (matrix.columnScale ? matrix.columnScale[start + j] : 1);
        row[hash % SKETCH_WIDTH] += hash & 0x80000000 ? -value : value;
      }
    }
    return row;
  });
  return { width: SKETCH_WIDTH, values };
}

function fromRepresentations(representations: readonly Representation[], candidates: readonly number[]): CompactRows {
  const width = candidates.length > 0 ? representations[candidates[0]].length : 0;
  return {
    width,
    values: candidates.map((r) => Float64Array.from(representations[r])),
  };
}

/**
 * Picks `n` of `candidates` (row indices of `features`, through `rows` when given, or of
 * `representations` when features are absent): k-means++ seeding from the highest-weight
 * candidate, a few Lloyd iterations with `weights[candidate]` as sample weights, then the unpicked
 * candidate nearest each centroid (ties to the higher weight). Deterministic for a given `random`.
 */
export function weightedKMeansPick(
  candidates: readonly number[],
  points: { features: FeatureMatrix; rows?: readonly number[] } | { representations: readonly Representation[] },
  weights: readonly number[],
  n: number,
  random: () => number,
  iterations = 8,
): number[] {
  if (candidates.length <= n) return candidates.slice();
  const rows =
    'features' in points
      ? fromMatrix(points.features, points.rows ? candidates.map((c) => points.rows![c]) : candidates)
      : fromRepresentations(points.representations, candidates);
  const m = candidates.length;
  const weight = candidates.map((c) => Math.max(weights[c], 1e-12));
  const normSq = new Float64Array(m);
  for (let i = 0; i < m; i++) for (const v of rows.values[i]) normSq[i] += v * v;
  const centers: Float64Array[] = [];
  const centerNormSq: number[] = [];
  const width = rows.width;
  const dot = (i: number, center: Float64Array) => {
    const vals = rows.values[i];
    let sum = 0;
    for (let j = 0; j < width; j++) sum += vals[j] * center[j];
    return sum;
  };
  const distance = (i: number, c: number) => Math.max(0, normSq[i] - 2 * dot(i, centers[c]) + centerNormSq[c]);
  const addCenter = (i: number) => {
    centers.push(Float64Array.from(rows.values[i]));
    centerNormSq.push(normSq[i]);
  };

  let first = 0;
  for (let i = 1; i < m; i++) if (weight[i] > weight[first]) first = i;
  addCenter(first);
  const nearest = new Float64Array(m).fill(Infinity);
  while (centers.length < n) {
    let total = 0;
    for (let i = 0; i < m; i++) {
      nearest[i] = Math.min(nearest[i], distance(i, centers.length - 1));
      total += nearest[i] * weight[i];
    }
    let next = -1;
    if (total > 0) {
      let threshold = random() * total;
      for (let i = 0; i < m && threshold > 0; i++) {
        if (nearest[i] <= 0) continue;
        threshold -= nearest[i] * weight[i];
        next = i;
      }
    }
    if (next < 0) break; // every candidate coincides with a center already
    addCenter(next);
  }

  const k = centers.length;
  const assignment = new Int32Array(m);
  for (let iteration = 0; iteration <= iterations; iteration++) {
    for (let i = 0; i < m; i++) {
      let best = 0;
      let bestDistance = Infinity;
      for (let c = 0; c < k; c++) {
        const d = distance(i, c);
        if (d < bestDistance) {
          bestDistance = d;
          best = c;
        }
      }
      assignment[i] = best;
    }
    if (iteration === iterations) break;
    const mass = new Float64Array(k);
    for (const center of centers) center.fill(0);
    for (let i = 0; i < m; i++) {
      const center = centers[assignment[i]];
      const vals = rows.values[i];
      for (let j = 0; j < width; j++) center[j] += weight[i] * vals[j];
      mass[assignment[i]] += weight[i];
    }
    for (let c = 0; c < k; c++) {
      if (mass[c] <= 0) continue; // an emptied cluster keeps a zero center and is refilled below
      let sq = 0;
      for (let j = 0; j < width; j++) {
        centers[c][j] /= mass[c];
        sq += centers[c][j] * centers[c][j];
      }
      centerNormSq[c] = sq;
    }
  }

  const taken = new Uint8Array(m);
  const chosen: number[] = [];
  for (let c = 0; c < k; c++) {
    let best = -1;
    let bestDistance = Infinity;
    for (let i = 0; i < m; i++) {
      if (taken[i] || assignment[i] !== c) continue;
      const d = distance(i, c);
      // Equally typical items: the more uncertain one is worth more.
      if (d < bestDistance || (d === bestDistance && weight[i] > weight[best])) {
        bestDistance = d;
        best = i;
      }
    }
    if (best >= 0) {
      taken[best] = 1;
      chosen.push(candidates[best]);
    }
  }
  // Empty clusters (or fewer distinct points than n): top up with the heaviest remaining candidates.
  const rest = Array.from({ length: m }, (_, i) => i)
    .filter((i) => !taken[i])
    .sort((a, b) => weight[b] - weight[a] || a - b);
  for (const i of rest) {
    if (chosen.length >= n) break;
    chosen.push(candidates[i]);
  }
  return chosen;
}
