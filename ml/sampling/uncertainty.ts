/**
 * Per-item uncertainty scores from a model's class probabilities. Higher means more informative;
 * each score lies in [0, 1].
 */

export type ProbabilityRow = ArrayLike<number>;

/** 1 − max_c p_c, rescaled by K / (K − 1) so a uniform row scores 1. */
export function leastConfidenceScore(row: ProbabilityRow): number {
  let max = 0;
  for (let c = 0; c < row.length; c++) if (row[c] > max) max = row[c];
  return row.length > 1 ? ((1 - max) * row.length) / (row.length - 1) : 0;
}

/** 1 − (p_first − p_second): 1 when the two likeliest labels tie. */
export function marginScore(row: ProbabilityRow): number {
  let first = 0;
  let second = 0;
  for (let c = 0; c < row.length; c++) {
    const p = row[c];
    if (p > first) {
      second = first;
      first = p;
    } else if (p > second) {
      second = p;
    }
  }
  return 1 - (first - second);
}

/** Shannon entropy divided by ln K. */
export function entropyScore(row: ProbabilityRow): number {
  if (row.length < 2) return 0;
  let entropy = 0;
  for (let c = 0; c < row.length; c++) if (row[c] > 0) entropy -= row[c] * Math.log(row[c]);
  return entropy / Math.log(row.length);
}
