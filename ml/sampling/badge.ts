/**
 * BADGE (Ash et al., 2020): k-means++ seeding over gradient embeddings g_i = (p_i − e_ŷi) ⊗ x_i,
 * the gradient of the loss w.r.t. the last layer if the predicted label were right. Its norm grows
 * with uncertainty, its direction with the item's features, so a batch is both uncertain and
 * diverse, and the D² sampling keeps some randomness against sampling bias.
 * ‖g_i − g_j‖² = ‖a_i‖²‖x_i‖² + ‖a_j‖²‖x_j‖² − 2 (a_i·a_j)(x_i·x_j), so the outer product is never formed.
 */
import { rowDot, type FeatureMatrix } from '../features/feature-matrix';
import type { ProbabilityRow } from './uncertainty';

function residual(row: ProbabilityRow): Float64Array {
  let best = 0;
  for (let c = 1; c < row.length; c++) if (row[c] > row[best]) best = c;
  const a = new Float64Array(row.length);
  for (let c = 0; c < row.length; c++) a[c] = row[c] - (c === best ? 1 : 0);
  return a;
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let c = 0; c < a.length; c++) sum += a[c] * b[c];
  return sum;
}

/** Picks n indices (rows of `features`, aligned with `probabilities`); returns them with their ‖g‖. */
export function badgeSelect(
  probabilities: readonly ProbabilityRow[],
  features: FeatureMatrix,
  n: number,
  random: () => number,
): { index: number; norm: number }[] {
  const size = probabilities.length;
  const residuals = probabilities.map(residual);
  const normSq = new Float64Array(size);
  const featureNormSq = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    featureNormSq[i] = rowDot(features, i, i);
    normSq[i] = dot(residuals[i], residuals[i]) * featureNormSq[i];
  }
  const distance = new Float64Array(size).fill(Infinity);
  const chosen: { index: number; norm: number }[] = [];
  const taken = new Uint8Array(size);
  let next = 0;
  for (let i = 1; i < size; i++) if (normSq[i] > normSq[next]) next = i;
  while (chosen.length < Math.min(n, size)) {
    taken[next] = 1;
    chosen.push({ index: next, norm: Math.sqrt(normSq[next]) });
    let total = 0;
    for (let i = 0; i < size; i++) {
      if (taken[i]) {
        distance[i] = 0;
        continue;
      }
      const d = normSq[i] + normSq[next] - 2 * dot(residuals[i], residuals[next]) * rowDot(features, i, next);
      if (d < distance[i]) distance[i] = Math.max(d, 0);
      total += distance[i];
    }
    if (total <= 0) {
      next = taken.indexOf(0);
      if (next < 0) break;
      continue;
    }
    let threshold = random() * total;
    next = -1;
    for (let i = 0; i < size; i++) {
      if (taken[i] || distance[i] <= 0) continue;
      threshold -= distance[i];
      next = i;
      if (threshold <= 0) break;
    }
    if (next < 0) break;
  }
  return chosen;
}
