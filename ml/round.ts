/**
 * One retraining round of a project, as pure computation: fit the featurizer, train on the
 * round's labels, evaluate on its holdout, decide promotion against the incumbent model on the
 * same holdout, and score the unlabeled pool with whichever model serves afterwards. The caller
 * loads items and labels and stores the results; nothing here touches a database.
 */
import { predictProba, trainClassifier, type TrainedClassifier } from './classifier';
import { featurize, fitFeaturizer, type FeaturizerKind, type ItemInput } from './features/featurizer';
import { selectRows, type FeatureMatrix } from './features/feature-matrix';
import { compareAccuracy, evaluate, type Comparison, type Metrics } from './metrics';
import type { Architecture } from './model';
import { selectBatch, type Strategy } from './sampling/select-batch';
import { createRandom } from './seeded-random';
import { entropyScore, leastConfidenceScore, marginScore } from './sampling/uncertainty';
import { loadModel, serializeModel, type SerializedModel } from './serialization';
import type { EpochReport, TrainParams } from './train';

export type PromotionPolicy = 'always' | 'never' | 'if-better';
export type RoundPhase = 'featurizing' | 'training' | 'evaluating' | 'scoring';

export interface RoundProgress {
  phase: RoundPhase;
  /** Share of the phase done, 0–1. */
  fraction: number;
  epoch?: EpochReport;
}

/** Rows are indices into `inputs`; targets are indices into `labels`. */
export interface LabeledRows {
  rows: readonly number[];
  targets: readonly number[];
}

export interface PoolRequest {
  /** Rows (into `inputs`) of the items the queue can still hand out. */
  pool: readonly number[];
  strategy: Strategy;
  /** Items the batch-aware strategy selects together at the head of the queue. */
  batch: number;
  seed: number;
}

export interface RoundRequest extends PoolRequest {
  kind: FeaturizerKind;
  labels: readonly string[];
  /** Featurizer inputs of every item the round touches: training, holdout and pool. */
  inputs: readonly ItemInput[];
  train: LabeledRows;
  holdout: LabeledRows;
  model: Architecture;
  params?: TrainParams;
  /** The promoted model, if any: the challenger must not be worse on the same holdout. */
  incumbent?: SerializedModel;
  promotion: PromotionPolicy;
  /** Bootstrap resamples for the intervals; default 1000. */
  bootstrap?: number;
  onProgress?: (progress: RoundProgress) => void;
}

/** Per pool item, aligned with `pool`. */
export interface PoolScores {
  /** Shown to users as "why this item": the strategy's score (NaN where none: random order, cold-start picks). */
  score: Float32Array;
  /** Queue order within one scoring run, in [0, 3]: the selected batch above 2 in pick order, then by uncertainty. */
  priority: Float64Array;
  /** Which of `strategies` placed each item. Typed arrays throughout: results cross to the server in one copy. */
  strategy: Uint8Array;
  strategies: string[];
  suggestion: Int32Array;
  confidence: Float32Array;
  /** Pool positions from the front of the queue to the back (priority descending). */
  order: Int32Array;
}

/** The name of the strategy that placed pool position `i`. */
export const strategyAt = (scores: PoolScores, i: number): string => scores.strategies[scores.strategy[i]];

export interface Promotion {
  promote: boolean;
  reason: string;
}

export interface RoundResult {
  model: SerializedModel;
  epochs: number;
  /** Null when the holdout has no labels yet. */
  metrics: Metrics | null;
  comparison: Comparison | null;
  promotion: Promotion;
  /** Scores of the model that serves after this round (the new one if promoted, else the incumbent). */
  scores: PoolScores | null;
  timings: { featurizeMs: number; trainMs: number; evaluateMs: number; scoreMs: number };
}

const SCORE_CHUNK = 10_000;

export function runRound(request: RoundRequest): RoundResult {
  const progress = request.onProgress ?? (() => {});
  let started = performance.now();
  progress({ phase: 'featurizing', fraction: 0 });
  const featurizer = fitFeaturizer({ kind: request.kind, items: request.inputs } as Parameters<typeof fitFeaturizer>[0]);
  const matrix = featurize(featurizer, request.inputs);
  const featurizeMs = performance.now() - started;

  started = performance.now();
  progress({ phase: 'training', fraction: 0 });
  const trained = trainClassifier({
    featurizer,
    examples: { matrix: selectRows(matrix, request.train.rows), labels: request.train.targets.map((t) => request.labels[t]) },
    labels: request.labels,
    model: request.model,
    params: request.params,
    seed: request.seed,
    onEpoch: (epoch) => progress({ phase: 'training', fraction: epoch.epoch / epoch.epochs, epoch }),
  });
  const trainMs = performance.now() - started;

  started = performance.now();
  progress({ phase: 'evaluating', fraction: 0 });
  const incumbent = request.incumbent ? loadModel(request.incumbent) : undefined;
  let metrics: Metrics | null = null;
  let comparison: Comparison | null = null;
  const holdoutCount = request.holdout.rows.length;
  if (holdoutCount > 0) {
    const truth = request.holdout.targets;
    const challenger = predictProba(trained, selectRows(matrix, request.holdout.rows));
    metrics = evaluate({ labels: request.labels, truth, probabilities: challenger, bootstrap: request.bootstrap, seed: request.seed });
    if (incumbent && sameLabels(incumbent, request.labels)) {
      const holdoutInputs = request.holdout.rows.map((row) => request.inputs[row]);
      const previous = predictProba(incumbent, holdoutInputs);
      comparison = compareAccuracy({ truth, incumbent: previous, challenger, bootstrap: request.bootstrap, seed: request.seed });
    }
  }
  const promotion = decidePromotion(request.promotion, incumbent, holdoutCount, comparison);
  const evaluateMs = performance.now() - started;

  started = performance.now();
  const serving = promotion.promote ? trained : incumbent;
  const poolMatrix = serving === trained ? matrix : serving ? featurize(serving.featurizer, request.inputs) : undefined;
  const scores = serving && poolMatrix ? scoreRows(serving, poolMatrix, request, countsOf(request.train.targets, request.labels.length), progress) : null;
  const scoreMs = performance.now() - started;

  return {
    model: serializeModel(trained),
    epochs: trained.epochs,
    metrics,
    comparison,
    promotion,
    scores,
    timings: { featurizeMs, trainMs, evaluateMs, scoreMs },
  };
}

export interface ScorePoolRequest extends PoolRequest {
  model: SerializedModel;
  inputs: readonly ItemInput[];
  /** Labeled examples per label so far (in the model's label order), for the cold-start rule. */
  labeledCounts: readonly number[];
  onProgress?: (progress: RoundProgress) => void;
}

/** Scores the pool with a stored model (a rollback, or the queue after new imports). */
export function scorePool(request: ScorePoolRequest): PoolScores {
  const model = loadModel(request.model);
  const matrix = featurize(model.featurizer, request.inputs);
  return scoreRows(model, matrix, request, request.labeledCounts, request.onProgress ?? (() => {}));
}

function countsOf(targets: readonly number[], labels: number): number[] {
  const counts = new Array<number>(labels).fill(0);
  for (const target of targets) counts[target]++;
  return counts;
}

function sameLabels(model: TrainedClassifier, labels: readonly string[]): boolean {
  return model.labels.length === labels.length && model.labels.every((label, i) => label === labels[i]);
}

function decidePromotion(
  policy: PromotionPolicy,
  incumbent: TrainedClassifier | undefined,
  holdoutCount: number,
  comparison: Comparison | null,
): Promotion {
  if (policy === 'always') return { promote: true, reason: 'the project promotes every round' };
  if (policy === 'never') return { promote: false, reason: 'the project promotes rounds by hand only' };
  if (!incumbent) return { promote: true, reason: 'no model was promoted yet' };
  if (holdoutCount === 0) return { promote: true, reason: 'no holdout labels yet to compare on' };
  if (!comparison) return { promote: true, reason: 'the project labels changed since the promoted model' };
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const { difference, differenceInterval: ci } = comparison;
  if (comparison.worseBeyondNoise) {
    return {
      promote: false,
      reason: `worse than the promoted model by ${pct(-difference)} on ${comparison.count} holdout labels (95 % interval ${pct(ci.low)} to ${pct(ci.high)})`,
    };
  }
  return {
    promote: true,
    reason: `${difference >= 0 ? 'better by' : 'within noise of'} the promoted model: ${pct(difference)} on ${comparison.count} holdout labels (95 % interval ${pct(ci.low)} to ${pct(ci.high)})`,
  };
}

const uncertaintyOf = (strategy: Strategy) =>
  strategy === 'least-confidence'
    ? { name: 'least-confidence', score: leastConfidenceScore }
    : strategy === 'entropy'
      ? { name: 'entropy', score: entropyScore }
      : { name: 'margin', score: marginScore };

function scoreRows(
  model: TrainedClassifier,
  matrix: FeatureMatrix,
  request: PoolRequest,
  labeledCounts: readonly number[],
  progress: (progress: RoundProgress) => void,
): PoolScores {
  const n = request.pool.length;
  const probabilities: Float32Array[] = [];
  progress({ phase: 'scoring', fraction: 0 });
  for (let start = 0; start < n; start += SCORE_CHUNK) {
    const rows = request.pool.slice(start, start + SCORE_CHUNK);
    probabilities.push(...predictProba(model, matrix, rows));
    progress({ phase: 'scoring', fraction: Math.min(1, (start + rows.length) / n) });
  }
  const uncertainty = uncertaintyOf(request.strategy);
  const random = createRandom(request.seed);
  const scores: PoolScores = {
    score: new Float32Array(n),
    priority: new Float64Array(n),
    strategy: new Uint8Array(n),
    strategies: [],
    suggestion: new Int32Array(n),
    confidence: new Float32Array(n),
    order: new Int32Array(0),
  };
  for (let i = 0; i < n; i++) {
    const row = probabilities[i];
    let best = 0;
    for (let c = 1; c < row.length; c++) if (row[c] > row[best]) best = c;
    scores.suggestion[i] = best;
    scores.confidence[i] = row[best];
    if (request.strategy === 'random') {
      scores.score[i] = NaN;
      scores.priority[i] = random();
      scores.strategy[i] = strategyIndex(scores, 'random');
    } else {
      const value = uncertainty.score(row);
      scores.score[i] = value;
      scores.priority[i] = value;
      scores.strategy[i] = strategyIndex(scores, uncertainty.name);
    }
  }
  if (request.strategy !== 'random') pickBatch(scores, probabilities, matrix, request, labeledCounts);
  scores.order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => scores.priority[b] - scores.priority[a]);
  return scores;
}

/** Puts the batch-aware selection at the front of the queue, in pick order. */
function pickBatch(
  scores: PoolScores,
  probabilities: Float32Array[],
  matrix: FeatureMatrix,
  request: PoolRequest,
  labeledCounts: readonly number[],
): void {
  const n = request.pool.length;
  const usesFeatures = request.strategy === 'badge' || request.strategy === 'kmeans-margin';
  const picks = selectBatch({
    strategy: request.strategy,
    probabilities,
    ...(usesFeatures && { features: matrix, featureRows: request.pool }),
    n: Math.min(request.batch, n),
    seed: request.seed,
    labeledCountsPerLabel: labeledCounts,
  });
  picks.forEach((pick, rank) => {
    scores.priority[pick.index] = 2 + (picks.length - rank) / picks.length;
    scores.strategy[pick.index] = strategyIndex(scores, pick.strategy === 'cold-start' ? 'cold-start (random)' : pick.strategy);
    if (pick.strategy === 'cold-start') scores.score[pick.index] = NaN;
  });
}

function strategyIndex(scores: PoolScores, name: string): number {
  const index = scores.strategies.indexOf(name);
  return index >= 0 ? index : scores.strategies.push(name) - 1;
}
