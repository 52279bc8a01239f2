/**
 * Active-learning simulation: plays the annotator with a pool whose labels are known, running the
 * same featurise → train → score → select code as a real project, and reports learning curves on a
 * held-out test set. Pure: the caller reads files and prints.
 */
import { predictProba, predictWithRepresentations, trainClassifier, type TrainedClassifier } from './classifier';
import { featurize, fitFeaturizer, type FeaturizerKind, type ItemInput } from './features/featurizer';
import { selectRows, type FeatureMatrix } from './features/feature-matrix';
import { evaluate } from './metrics';
import type { Architecture } from './model';
import { selectBatch, type Strategy } from './sampling/select-batch';
import { createRandom, permutation } from './seeded-random';
import type { TrainParams } from './train';

export interface SimulationItem {
  input: ItemInput;
  label: string;
}

export interface SimulationRequest {
  kind: FeaturizerKind;
  pool: readonly SimulationItem[];
  test: readonly SimulationItem[];
  strategies: readonly Strategy[];
  seedLabels: number;
  batch: number;
  budget: number;
  seeds: readonly number[];
  model?: Architecture;
  params?: TrainParams;
  /** Name reported in the `pool` field. */
  poolName?: string;
  onProgress?: (message: string) => void;
}

export type CurvePoint = [labels: number, accuracy: number, macroF1: number];

export interface StrategyResult {
  strategy: Strategy;
  pool: string;
  fullAccuracy: number;
  fullMacroF1: number;
  /** Mean over seeds at each label count. */
  curve: CurvePoint[];
  labelsTo90: number | null;
  labelsTo95: number | null;
  labelsTo99: number | null;
  labelsToMatchRandom: number | null;
  meanAccuracy: number;
  trainSecondsPerRound: number;
  scoreSecondsPerRound: number;
}

const USES_REPRESENTATIONS: ReadonlySet<Strategy> = new Set(['cluster-margin', 'mixed-margin']);
const USES_FEATURES: ReadonlySet<Strategy> = new Set(['badge', 'kmeans-margin']);

function score(trained: TrainedClassifier, matrix: FeatureMatrix, truth: readonly number[]) {
  const probabilities = predictProba(trained, matrix);
  return evaluate({ labels: trained.labels, truth, probabilities, bootstrap: 0 });
}

export function runSimulation(request: SimulationRequest): StrategyResult[] {
  const log = request.onProgress ?? (() => {});
  const labels = [...new Set([...request.pool, ...request.test].map((item) => item.label))].sort();
  const labelIndex = new Map(labels.map((label, i) => [label, i]));
  const featurizer = fitFeaturizer({
    kind: request.kind,
    items: [...request.pool, ...request.test].map((item) => item.input),
  } as Parameters<typeof fitFeaturizer>[0]);
  const poolMatrix = featurize(featurizer, request.pool.map((item) => item.input));
  const testMatrix = featurize(featurizer, request.test.map((item) => item.input));
  const poolLabels = request.pool.map((item) => item.label);
  const testTruth = request.test.map((item) => labelIndex.get(item.label)!);
  const architecture = request.model ?? 'softmax';
  const budget = Math.min(request.budget, request.pool.length);

  let fullAccuracy = 0;
  let fullMacroF1 = 0;
  for (const seed of request.seeds) {
    const full = trainClassifier({
      featurizer,
      examples: { matrix: poolMatrix, labels: poolLabels },
      labels,
      model: architecture,
      params: request.params,
      seed,
    });
    const metrics = score(full, testMatrix, testTruth);
    fullAccuracy += metrics.accuracy / request.seeds.length;
    fullMacroF1 += metrics.macroF1 / request.seeds.length;
  }
  log(`full pool: accuracy ${fullAccuracy.toFixed(4)}, macro-F1 ${fullMacroF1.toFixed(4)}`);

  const results: StrategyResult[] = [];
  for (const strategy of request.strategies) {
    const sums = new Map<number, [number, number, number]>();
    let trainSeconds = 0;
    let scoreSeconds = 0;
    let rounds = 0;
    for (const seed of request.seeds) {
      const labeled = permutation(request.pool.length, createRandom(seed)).slice(0, Math.min(request.seedLabels, budget));
      const isLabeled = new Uint8Array(request.pool.length);
      for (const i of labeled) isLabeled[i] = 1;
      for (let round = 0; ; round++) {
        let started = performance.now();
        const trained = trainClassifier({
          featurizer,
          examples: { matrix: selectRows(poolMatrix, labeled), labels: labeled.map((i) => poolLabels[i]) },
          labels,
          model: architecture,
          params: request.params,
          seed,
        });
        trainSeconds += (performance.now() - started) / 1000;
        rounds++;
        const metrics = score(trained, testMatrix, testTruth);
        const sum = sums.get(labeled.length) ?? [0, 0, 0];
        sums.set(labeled.length, [sum[0] + metrics.accuracy, sum[1] + metrics.macroF1, sum[2] + 1]);
        if (labeled.length >= budget) break;

        started = performance.now();
        const unlabeled: number[] = [];
        for (let i = 0; i < request.pool.length; i++) if (!isLabeled[i]) unlabeled.push(i);
        const inference = USES_REPRESENTATIONS.has(strategy)
          ? predictWithRepresentations(trained, poolMatrix, unlabeled)
          : { probabilities: strategy === 'random' ? null : predictProba(trained, poolMatrix, unlabeled), representations: undefined };
        scoreSeconds += (performance.now() - started) / 1000;
        const counts = new Array<number>(labels.length).fill(0);
        for (const i of labeled) counts[labelIndex.get(poolLabels[i])!]++;
        const picks = selectBatch({
          strategy,
          probabilities: inference.probabilities,
          representations: inference.representations,
          ...(USES_FEATURES.has(strategy) && { features: poolMatrix, featureRows: unlabeled }),
          poolSize: unlabeled.length,
          n: Math.min(request.batch, budget - labeled.length),
          seed: seed * 100003 + round,
          labeledCountsPerLabel: counts,
        });
        for (const pick of picks) {
          const item = unlabeled[pick.index];
          isLabeled[item] = 1;
          labeled.push(item);
        }
      }
      log(`${strategy} seed ${seed}: ${labeled.length} labels`);
    }
    const curve: CurvePoint[] = [...sums.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([count, [accuracy, macroF1, n]]) => [count, accuracy / n, macroF1 / n]);
    const firstReaching = (target: number) => curve.find((point) => point[1] >= target)?.[0] ?? null;
    results.push({
      strategy,
      pool: request.poolName ?? 'pool',
      fullAccuracy,
      fullMacroF1,
      curve,
      labelsTo90: firstReaching(0.9 * fullAccuracy),
      labelsTo95: firstReaching(0.95 * fullAccuracy),
      labelsTo99: firstReaching(0.99 * fullAccuracy),
      labelsToMatchRandom: null,
      meanAccuracy: curve.reduce((sum, point) => sum + point[1], 0) / Math.max(curve.length, 1),
      trainSecondsPerRound: trainSeconds / Math.max(rounds, 1),
      scoreSecondsPerRound: scoreSeconds / Math.max(rounds - request.seeds.length, 1),
    });
  }
  const random = results.find((r) => r.strategy === 'random');
  if (random && random.curve.length > 0) {
    const target = random.curve[random.curve.length - 1][1];
    for (const result of results) result.labelsToMatchRandom = result.curve.find((p) => p[1] >= target)?.[0] ?? null;
  }
  return results;
}

