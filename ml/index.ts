/**
 * Public surface of the ML core. Everything here takes and returns plain data (arrays, typed
 * arrays, strings); tensors never cross this boundary. Call `initBackend()` once per process (or
 * worker) before training or predicting.
 */
export { initBackend, type TfjsBackend } from './backend';
export { hashText, tokenize, HASH_BITS, type HashedText, type HashTextOptions, type TextFeaturizer } from './features/text';
export { documentVector, type WordVectors } from './features/word-vectors';
export type { VectorFeaturizer, NumericVector } from './features/vector';
export { decodeImage, type ImageFeaturizer, type ImageInput } from './features/image';
export {
  fitFeaturizer,
  featurize,
  type Featurizer,
  type FeaturizerKind,
  type FitFeaturizerRequest,
  type ItemInput,
} from './features/featurizer';
export type { FeatureMatrix, SparseMatrix, DenseMatrix } from './features/feature-matrix';
export {
  trainClassifier,
  predictProba,
  predictWithRepresentations,
  type TrainedClassifier,
  type TrainClassifierRequest,
  type Example,
} from './classifier';
export type { TrainParams } from './train';
export type { Architecture, ModelTopology } from './model';
export { serializeModel, loadModel, toModelArtifacts, type SerializedModel } from './serialization';
export { trainInWorker } from './train-in-worker';
export {
  selectBatch,
  STRATEGIES,
  DEFAULT_STRATEGY,
  type Strategy,
  type Pick,
  type SelectBatchRequest,
} from './sampling/select-batch';
export { marginScore, entropyScore, leastConfidenceScore } from './sampling/uncertainty';
export { evaluate, type Metrics, type LabelMetrics, type EvaluateRequest, type Interval } from './metrics';
export {
  runSimulation,
  type SimulationRequest,
  type SimulationItem,
  type StrategyResult,
  type CurvePoint,
} from './simulation';
export {
  runRound,
  scorePool,
  strategyAt,
  type RoundRequest,
  type RoundResult,
  type RoundProgress,
  type RoundPhase,
  type PoolScores,
  type PromotionPolicy,
  type ScorePoolRequest,
} from './round';
export { compareAccuracy, type Comparison } from './metrics';
