/**
 * Classification metrics over true label indices and predicted probability rows, with seeded
 * bootstrap confidence intervals for accuracy and macro-F1.
 */
import { createRandom } from './seeded-random';

export interface LabelMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface Interval {
  low: number;
  high: number;
}

export interface Metrics {
  count: number;
  accuracy: number;
  macroF1: number;
  perLabel: LabelMetrics[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  logLoss: number;
  /** Expected calibration error over `bins` equal-width confidence bins. */
  expectedCalibrationError: number;
  /** Percentile bootstrap intervals (absent when bootstrap is 0). */
  accuracyInterval?: Interval;
  macroF1Interval?: Interval;
}

export interface EvaluateRequest {
  labels: readonly string[];
  /** True label index (into `labels`) per item. */
  truth: readonly number[];
  /** Probability row per item, same order as `labels`. */
  probabilities: readonly ArrayLike<number>[];
  /** Bootstrap resamples; default 1000 (0 skips intervals). */
  bootstrap?: number;
  /** Interval coverage; default 0.95. */
  confidence?: number;
  seed?: number;
  bins?: number;
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let c = 1; c < row.length; c++) if (row[c] > row[best]) best = c;
  return best;
}

function confusionOf(k: number, truth: readonly number[], predicted: readonly number[], sample?: Int32Array): number[][] {
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const n = sample ? sample.length : truth.length;
  for (let s = 0; s < n; s++) {
    const i = sample ? sample[s] : s;
    confusion[truth[i]][predicted[i]]++;
  }
  return confusion;
}

function perLabelOf(labels: readonly string[], confusion: number[][]): LabelMetrics[] {
  return labels.map((label, c) => {
    const tp = confusion[c][c];
    let predicted = 0;
    let support = 0;
    for (let j = 0; j < labels.length; j++) {
      predicted += confusion[j][c];
      support += confusion[c][j];
    }
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, precision, recall, f1, support };
  });
}

/** Mean F1 over labels that occur in the truth or the predictions (others are undefined, not 0). */
function macroF1Of(perLabel: LabelMetrics[], confusion: number[][]): number {
  let sum = 0;
  let counted = 0;
  perLabel.forEach((m, c) => {
    const predicted = confusion.reduce((s, row) => s + row[c], 0);
    if (m.support === 0 && predicted === 0) return;
    sum += m.f1;
    counted++;
  });
  return counted > 0 ? sum / counted : 0;
}

function accuracyOf(confusion: number[][]): number {
  let correct = 0;
  let total = 0;
  confusion.forEach((row, c) => {
    correct += row[c];
    for (const v of row) total += v;
  });
  return total > 0 ? correct / total : 0;
}

function percentile(sorted: number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}

/** Two-sided standard normal quantile for the common confidence levels. */
function normalQuantile(confidence: number): number {
  if (confidence >= 0.99) return 2.5758;
  if (confidence >= 0.95) return 1.96;
  if (confidence >= 0.9) return 1.6449;
  return 1.2816;
}

/** Wilson score interval of a proportion: never zero width, unlike the bootstrap at 0 % or 100 %. */
export function wilsonInterval(proportion: number, n: number, confidence = 0.95): Interval {
  if (n === 0) return { low: 0, high: 1 };
  const z = normalQuantile(confidence);
  const z2 = z * z;
  const centre = (proportion + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((proportion * (1 - proportion)) / n + z2 / (4 * n * n));
  // Analytically the interval always holds the proportion; rounding can leave 1 − 1e-16 at 100 %.
  return { low: Math.max(0, Math.min(proportion, centre - half)), high: Math.min(1, Math.max(proportion, centre + half)) };
}

export function evaluate(request: EvaluateRequest): Metrics {
  const { labels, truth, probabilities } = request;
  const k = labels.length;
  const n = truth.length;
  const predicted = probabilities.map(argmax);
  const confusion = confusionOf(k, truth, predicted);
  const perLabel = perLabelOf(labels, confusion);

  let logLoss = 0;
  const bins = request.bins ?? 10;
  const binCount = new Float64Array(bins);
  const binConfidence = new Float64Array(bins);
  const binCorrect = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const row = probabilities[i];
    logLoss -= Math.log(Math.min(1, Math.max(row[truth[i]], 1e-15)));
    const confidence = row[predicted[i]];
    const bin = Math.min(bins - 1, Math.floor(confidence * bins));
    binCount[bin]++;
    binConfidence[bin] += confidence;
    binCorrect[bin] += predicted[i] === truth[i] ? 1 : 0;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    if (binCount[b] > 0) ece += (binCount[b] / n) * Math.abs(binCorrect[b] / binCount[b] - binConfidence[b] / binCount[b]);
  }

  const metrics: Metrics = {
    count: n,
    accuracy: accuracyOf(confusion),
    macroF1: macroF1Of(perLabel, confusion),
    perLabel,
    confusion,
    logLoss: n > 0 ? logLoss / n : 0,
    expectedCalibrationError: ece,
  };

  const resamples = request.bootstrap ?? 1000;
  if (resamples > 0 && n > 0) {
    const random = createRandom(request.seed ?? 0);
    const accuracies: number[] = [];
    const macroF1s: number[] = [];
    const sample = new Int32Array(n);
    for (let r = 0; r < resamples; r++) {
      for (let s = 0; s < n; s++) sample[s] = Math.floor(random() * n);
      const c = confusionOf(k, truth, predicted, sample);
      accuracies.push(accuracyOf(c));
      macroF1s.push(macroF1Of(perLabelOf(labels, c), c));
    }
    accuracies.sort((a, b) => a - b);
    macroF1s.sort((a, b) => a - b);
    const alpha = (1 - (request.confidence ?? 0.95)) / 2;
    metrics.accuracyInterval = { low: percentile(accuracies, alpha), high: percentile(accuracies, 1 - alpha) };
    // With every item right (or wrong) each resample agrees, and the bootstrap claims certainty.
    if (metrics.accuracyInterval.high - metrics.accuracyInterval.low === 0) {
      metrics.accuracyInterval = wilsonInterval(metrics.accuracy, n, request.confidence ?? 0.95);
    }
    metrics.macroF1Interval = { low: percentile(macroF1s, alpha), high: percentile(macroF1s, 1 - alpha) };
  }
  return metrics;
}

export interface ComparisonRequest {
  /** True label index per item. */
  truth: readonly number[];
  /** The incumbent's and the challenger's probability rows for the same items. */
  incumbent: readonly ArrayLike<number>[];
  challenger: readonly ArrayLike<number>[];
  bootstrap?: number;
  confidence?: number;
  seed?: number;
}

export interface Comparison {
  count: number;
  incumbentAccuracy: number;
  challengerAccuracy: number;
  /** challenger − incumbent accuracy. */
  difference: number;
  /** Paired percentile bootstrap interval of the difference. */
  differenceInterval: Interval;
  /** The challenger is worse only if the whole interval lies below zero. */
  worseBeyondNoise: boolean;
}

/**
 * Paired comparison of two models on the same items: resampling items (not models) keeps the
 * correlation between their errors, so the interval is much tighter than comparing two
 * independent accuracy intervals.
 */
export function compareAccuracy(request: ComparisonRequest): Comparison {
  const n = request.truth.length;
  const a = new Int8Array(n);
  const b = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = argmax(request.incumbent[i]) === request.truth[i] ? 1 : 0;
    b[i] = argmax(request.challenger[i]) === request.truth[i] ? 1 : 0;
  }
  const mean = (values: Int8Array) => (n > 0 ? values.reduce((s, v) => s + v, 0) / n : 0);
  const incumbentAccuracy = mean(a);
  const challengerAccuracy = mean(b);
  const difference = challengerAccuracy - incumbentAccuracy;
  let interval: Interval = { low: difference, high: difference };
  const resamples = request.bootstrap ?? 1000;
  if (n > 0 && resamples > 0) {
    const random = createRandom(request.seed ?? 0);
    const differences: number[] = [];
    for (let r = 0; r < resamples; r++) {
      let sum = 0;
      for (let s = 0; s < n; s++) {
        const i = Math.floor(random() * n);
        sum += b[i] - a[i];
      }
      differences.push(sum / n);
    }
    differences.sort((x, y) => x - y);
    const alpha = (1 - (request.confidence ?? 0.95)) / 2;
    interval = { low: percentile(differences, alpha), high: percentile(differences, 1 - alpha) };
  }
  return {
    count: n,
    incumbentAccuracy,
    challengerAccuracy,
    difference,
    differenceInterval: interval,
    worseBeyondNoise: n > 0 && interval.high < 0,
  };
}
