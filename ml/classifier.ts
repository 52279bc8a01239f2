/**
 * A trained classifier is plain data: label names, the fitted featurizer and the model weights.
 * Tensors are made inside each call and disposed before it returns.
 */
import { featurize, type Featurizer, type ItemInput } from './features/featurizer';
import type { FeatureMatrix } from './features/feature-matrix';
import { columnMapOf, type Architecture, type ModelState } from './model';
import { infer } from './predict';
import { trainOnMatrix, type EpochReport, type TrainParams } from './train';

export interface TrainedClassifier {
  labels: string[];
  featurizer: Featurizer;
  model: ModelState;
  seed: number;
  /** Epoch whose weights were kept. */
  epochs: number;
  validationLoss: number | null;
  examples: number;
}

export interface Example {
  /** The item's featurizer input: hashed text counts, a numeric vector, or image bytes / data URL. */
  features: ItemInput;
  label: string;
}

export interface TrainClassifierRequest {
  featurizer: Featurizer;
  /** Either raw examples, or an already featurised matrix with one label per row. */
  examples: readonly Example[] | { matrix: FeatureMatrix; labels: readonly string[] };
  /** Every label of the project, in the order probabilities are reported. */
  labels: readonly string[];
  model: Architecture;
  params?: TrainParams;
  seed: number;
  /** Called after each epoch (same thread); throw to stop. */
  onEpoch?: (report: EpochReport) => void;
}

export function trainClassifier(request: TrainClassifierRequest): TrainedClassifier {
  const index = new Map(request.labels.map((label, i) => [label, i]));
  const toTarget = (label: string) => {
    const target = index.get(label);
    if (target === undefined) throw new Error(`example label "${label}" is not one of the project labels`);
    return target;
  };
  let matrix: FeatureMatrix;
  let targets: number[];
  if (Array.isArray(request.examples)) {
    const examples = request.examples as readonly Example[];
    matrix = featurize(request.featurizer, examples.map((e) => e.features));
    targets = examples.map((e) => toTarget(e.label));
  } else {
    const given = request.examples as { matrix: FeatureMatrix; labels: readonly string[] };
    matrix = given.matrix;
    targets = given.labels.map(toTarget);
  }
  const result = trainOnMatrix({
    matrix,
    targets,
    classes: request.labels.length,
    architecture: request.model,
    params: request.params,
    seed: request.seed,
    onEpoch: request.onEpoch,
  });
  return {
    labels: request.labels.slice(),
    featurizer: request.featurizer,
    model: result.state,
    seed: request.seed,
    epochs: result.epochs,
    validationLoss: result.validationLoss,
    examples: targets.length,
  };
}

function asMatrix(trained: TrainedClassifier, items: readonly ItemInput[] | FeatureMatrix): FeatureMatrix {
  return Array.isArray(items) ? featurize(trained.featurizer, items) : (items as FeatureMatrix);
}

function rowsOf(values: Float32Array, width: number): Float32Array[] {
  const rows: Float32Array[] = [];
  for (let start = 0; start < values.length; start += width) rows.push(values.subarray(start, start + width));
  return rows;
}

/**
 * Class probabilities, one Float32Array [labels.length] per item, in `trained.labels` order.
 * `items` are raw featurizer inputs, or a matrix from `featurize(trained.featurizer, …)` (reuse
 * it across rounds to featurise a pool once); `rows` picks some of the matrix's rows, in order.
 */
export function predictProba(
  trained: TrainedClassifier,
  items: readonly ItemInput[] | FeatureMatrix,
  rows?: ArrayLike<number>,
): Float32Array[] {
  const matrix = asMatrix(trained, items);
  const result = infer(trained.model, matrix, columnMapOf(trained.model, matrix.width), false, rows);
  return rowsOf(result.probabilities, trained.labels.length);
}

/**
 * Probabilities plus each item's representation for batch-aware sampling: the hidden layer
 * [hiddenUnits] of an mlp, or the logits [labels.length] of softmax regression. `items` and `rows`
 * as for predictProba.
 */
export function predictWithRepresentations(
  trained: TrainedClassifier,
  items: readonly ItemInput[] | FeatureMatrix,
  rows?: ArrayLike<number>,
): { probabilities: Float32Array[]; representations: Float32Array[] } {
  const matrix = asMatrix(trained, items);
  const result = infer(trained.model, matrix, columnMapOf(trained.model, matrix.width), true, rows);
  return {
    probabilities: rowsOf(result.probabilities, trained.labels.length),
    representations: rowsOf(result.representations!, result.units),
  };
}
