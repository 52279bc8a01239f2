/**
 * Greedy k-center selection: repeatedly take the candidate farthest (Euclidean) from everything
 * chosen so far, so a batch spreads over representation space instead of piling onto
 * near-duplicates. The first pick is the candidate with the highest priority.
 */

export type Representation = ArrayLike<number>;

function squaredDistance(a: Representation, b: Representation): number {
  let sum = 0;
  for (let j = 0; j < a.length; j++) {
    const d = a[j] - b[j];
    sum += d * d;
  }
  return sum;
}

/**
 * Picks `n` of `candidates` (indices into `representations`). Ties in distance go to the higher
 * `priority`, so among equally novel items the more uncertain one wins.
 */
export function kCenterGreedy(
  candidates: readonly number[],
  representations: readonly Representation[],
  priority: readonly number[],
  n: number,
): number[] {
  if (candidates.length <= n) return candidates.slice();
  const chosen: number[] = [];
  const distance = new Float64Array(candidates.length).fill(Infinity);
  const taken = new Uint8Array(candidates.length);
  let next = 0;
  for (let i = 1; i < candidates.length; i++) if (priority[candidates[i]] > priority[candidates[next]]) next = i;
  while (chosen.length < n) {
    taken[next] = 1;
    chosen.push(candidates[next]);
    const center = representations[candidates[next]];
    let best = -1;
    for (let i = 0; i < candidates.length; i++) {
      if (taken[i]) continue;
      const d = squaredDistance(representations[candidates[i]], center);
      if (d < distance[i]) distance[i] = d;
      if (
        best < 0 ||
        distance[i] > distance[best] ||
        (distance[i] === distance[best] && priority[candidates[i]] > priority[candidates[best]])
      ) {
        best = i;
      }
    }
    if (best < 0) break;
    next = best;
  }
  return chosen;
}
