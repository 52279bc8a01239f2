/**
 * The classifier network: softmax regression or a one-hidden-layer MLP, over sparse (TF-IDF) or
 * dense (vector, image) inputs. Weights live as plain Float32Arrays between calls; tensors exist
 * only inside `withModelTensors`, so nothing leaks across the module boundary.
 *
 * Sparse inputs never become dense rows: the first layer is an embedding bag, `gather` of the
 * weight rows of a document's non-zeros times their values, summed per document with
 * `sparseSegmentSum`, plus a plain matrix product for the columns every row fills (a text's word
 * vector). The bag's gradient is written by hand with `scatterND` (which sums duplicates), because
 * the WebAssembly backend lacks `UnsortedSegmentSum`, which the built-in gather gradient needs.
 */
import * as tf from '@tensorflow/tfjs';
import { copyRows, type FeatureMatrix } from './features/feature-matrix';
import { createRandom } from './seeded-random';

export type Architecture = 'softmax' | 'mlp';

/** What the model computes; stored as the artifact's topology. */
export interface ModelTopology {
  format: 'loopwise-classifier';
  version: 1;
  architecture: Architecture;
  inputKind: 'sparse' | 'dense';
  /**
   * Input width the weights see: for sparse input, the number of featurizer columns that occurred
   * in training (the `columns` weight maps them); for dense input, the featurizer's width.
   */
  inputWidth: number;
  hiddenUnits: number;
  classes: number;
}

export interface NamedWeight {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  values: Float32Array | Int32Array;
}

export interface ModelState {
  topology: ModelTopology;
  /**
   * kernel1 [inputWidth, K1], bias1 [K1]; for mlp also kernel2 [hiddenUnits, classes], bias2 [classes]
   * (K1 = hiddenUnits for mlp, classes for softmax); for sparse input also columns [inputWidth]
   * (int32, featurizer column of each model input, ascending).
   */
  weights: NamedWeight[];
}

export function weight(state: ModelState, name: string): NamedWeight {
  const found = state.weights.find((w) => w.name === name);
  if (!found) throw new Error(`model has no weight ${name}`);
  return found;
}

/** Glorot-uniform kernels and zero biases from a seeded generator. */
export function initialWeights(topology: ModelTopology, seed: number): NamedWeight[] {
  const random = createRandom(seed);
  const kernel = (name: string, rows: number, cols: number, zero: boolean): NamedWeight => {
    const limit = Math.sqrt(6 / (rows + cols));
    const values = new Float32Array(rows * cols);
    if (!zero) for (let i = 0; i < values.length; i++) values[i] = (random() * 2 - 1) * limit;
    return { name, shape: [rows, cols], dtype: 'float32', values };
  };
  const bias = (name: string, n: number): NamedWeight => ({ name, shape: [n], dtype: 'float32', values: new Float32Array(n) });
  if (topology.architecture === 'softmax') {
    // Zero start: with L2 the optimum is unique and weights of unseen features stay exactly zero.
    return [kernel('kernel1', topology.inputWidth, topology.classes, true), bias('bias1', topology.classes)];
  }
  return [
    kernel('kernel1', topology.inputWidth, topology.hiddenUnits, false),
    bias('bias1', topology.hiddenUnits),
    kernel('kernel2', topology.hiddenUnits, topology.classes, false),
    bias('bias2', topology.classes),
  ];
}

interface SparseBatch {
  kind: 'sparse';
  rows: number;
  /** [rows, 1] per-row scale (1 / L2 norm for text). */
  rowScale: tf.Tensor2D;
  /** Kernel rows: the model's input width. */
  width: number;
  /** Entries with value 1, in row order: kernel row [nu] and output row [nu]. */
  unitCols: tf.Tensor1D;
  unitSegments: tf.Tensor1D;
  /** Other entries: kernel row, output row, 0..nh − 1 and value [nh, 1]. */
  heavyCols: tf.Tensor1D;
  heavySegments: tf.Tensor1D;
  heavyPositions: tf.Tensor1D;
  heavyValues: tf.Tensor2D;
  /** Output rows each list's segment sum yields (its last entry's row + 1; 0 for an empty list). */
  unitExtent: number;
  heavyExtent: number;
  /** Unit entries sorted by kernel row, for the gradient (training batches only). */
  unitColsByColumn?: tf.Tensor1D;
  unitSegmentsByColumn?: tf.Tensor1D;
  /** Kernel rows the sorted unit entries' gradient yields (the last one's row + 1). */
  unitColumnExtent?: number;
  /** The matrix's dense block [rows, width], multiplied with kernel rows start … start + width − 1. */
  dense?: { x: tf.Tensor2D; start: number };
}

/**
 * A batch of inputs as tensors. Sparse input is split into unit-valued entries (most TF-IDF
 * entries: tf = 1 once idf and the row norm are factored out), which need no multiply, and the rest.
 * `width` is the model's input width (its kernel rows).
 */
export type InputBatch = SparseBatch | { kind: 'dense'; rows: number; x: tf.Tensor2D };

export function inputBatch(
  matrix: FeatureMatrix,
  rowIds: ArrayLike<number>,
  columnMap: Int32Array | undefined,
  width: number,
  forTraining = false,
): InputBatch {
  const rows = rowIds.length;
  if (matrix.kind === 'dense') return { kind: 'dense', rows, x: denseRows(matrix.values, matrix.width, rowIds) };
  let nnz = 0;
  for (let i = 0; i < rows; i++) nnz += matrix.indptr[rowIds[i] + 1] - matrix.indptr[rowIds[i]];
  const unitCols = new Int32Array(nnz);
  const unitSegments = new Int32Array(nnz);
  const heavyCols = new Int32Array(nnz);
  const heavySegments = new Int32Array(nnz);
  const heavyValues = new Float32Array(nnz);
  const rowScale = new Float32Array(rows);
  let units = 0;
  let heavy = 0;
  for (let i = 0; i < rows; i++) {
    const r = rowIds[i];
    rowScale[i] = matrix.rowScale ? matrix.rowScale[r] : 1;
    for (let k = matrix.indptr[r]; k < matrix.indptr[r + 1]; k++) {
      const column = columnMap ? columnMap[matrix.indices[k]] : matrix.indices[k];
      if (column < 0) continue;
      const value = matrix.values[k];
      if (value === 1) {
        unitCols[units] = column;
        unitSegments[units++] = i;
      } else {
        heavyCols[heavy] = column;
        heavySegments[heavy] = i;
        heavyValues[heavy++] = value;
      }
    }
  }
  const batch: SparseBatch = {
    kind: 'sparse',
    rows,
    width,
    rowScale: tf.tensor2d(rowScale, [rows, 1]),
    unitCols: tf.tensor1d(unitCols.subarray(0, units), 'int32'),
    unitSegments: tf.tensor1d(unitSegments.subarray(0, units), 'int32'),
    heavyCols: tf.tensor1d(heavyCols.subarray(0, heavy), 'int32'),
    heavySegments: tf.tensor1d(heavySegments.subarray(0, heavy), 'int32'),
    heavyPositions: tf.tensor1d(Int32Array.from({ length: heavy }, (_, i) => i), 'int32'),
    heavyValues: tf.tensor2d(heavyValues.subarray(0, heavy), [heavy, 1]),
    unitExtent: units > 0 ? unitSegments[units - 1] + 1 : 0,
    heavyExtent: heavy > 0 ? heavySegments[heavy - 1] + 1 : 0,
  };
  if (matrix.dense) {
    // The block's columns are the featurizer's last and every row has them, so a model trained on
    // them holds them as its last inputs, in order (a model without them ignores the block).
    const first = matrix.width - matrix.dense.width;
    const start = columnMap ? columnMap[first] : first;
    if (start >= 0) batch.dense = { x: denseRows(matrix.dense.values, matrix.dense.width, rowIds), start };
  }
  if (forTraining) {
    // Counting sort of the unit entries by kernel row.
    const starts = new Int32Array(width + 1);
    for (let e = 0; e < units; e++) starts[unitCols[e] + 1]++;
    for (let c = 0; c < width; c++) starts[c + 1] += starts[c];
    const byColumnCols = new Int32Array(units);
    const byColumnSegments = new Int32Array(units);
    for (let e = 0; e < units; e++) {
      const at = starts[unitCols[e]]++;
      byColumnCols[at] = unitCols[e];
      byColumnSegments[at] = unitSegments[e];
    }
    batch.unitColsByColumn = tf.tensor1d(byColumnCols, 'int32');
    batch.unitSegmentsByColumn = tf.tensor1d(byColumnSegments, 'int32');
    batch.unitColumnExtent = units > 0 ? byColumnCols[units - 1] + 1 : 0;
  }
  return batch;
}

function denseRows(values: Float32Array, width: number, rowIds: ArrayLike<number>): tf.Tensor2D {
  return tf.tensor2d(copyRows(values, width, rowIds), [rowIds.length, width]);
}

export function disposeBatch(batch: InputBatch): void {
  if (batch.kind === 'dense') {
    batch.x.dispose();
    return;
  }
  tf.dispose([
    batch.rowScale,
    batch.unitCols,
    batch.unitSegments,
    batch.heavyCols,
    batch.heavySegments,
    batch.heavyPositions,
    batch.heavyValues,
  ]);
  if (batch.unitColsByColumn) tf.dispose([batch.unitColsByColumn, batch.unitSegmentsByColumn!]);
  batch.dense?.x.dispose();
}

/** A segment sum's result [extent, units], given zero rows below to make it [rows, units]. */
function toRows(sum: tf.Tensor2D | null, extent: number, rows: number, units: number): tf.Tensor2D {
  if (!sum) return tf.zeros([rows, units]);
  return extent === rows ? sum : tf.pad(sum, [[0, rows - extent], [0, 0]]);
}

/**
 * Σ_k value_k · kernel[col_k] per row, times the row scale: [rows, units] from a kernel
 * [inputWidth, units]. sparseSegmentSum does the gathering (the wasm gather kernel is an order of
 * magnitude slower); the gradient is a segment sum over entries sorted by kernel row.
 */
function embeddingBag(kernel: tf.Tensor2D, batch: SparseBatch): tf.Tensor2D {
  const units = kernel.shape[1];
  const forward = (w: tf.Tensor) => {
    const kernel = w as tf.Tensor2D;
    const unitSum = batch.unitExtent > 0 ? tf.sparse.sparseSegmentSum(kernel, batch.unitCols, batch.unitSegments) : null;
    const heavySum =
      batch.heavyExtent > 0
        ? tf.sparse.sparseSegmentSum(
            tf.mul(tf.sparse.sparseSegmentSum(kernel, batch.heavyCols, batch.heavyPositions), batch.heavyValues),
            batch.heavyPositions,
            batch.heavySegments,
          )
        : null;
    const value = tf.mul(
      tf.add(toRows(unitSum as tf.Tensor2D | null, batch.unitExtent, batch.rows, units), toRows(heavySum as tf.Tensor2D | null, batch.heavyExtent, batch.rows, units)),
      batch.rowScale,
    ) as tf.Tensor2D;
    const gradFunc = (dy: tf.Tensor) => {
      if (!batch.unitColsByColumn || !batch.unitSegmentsByColumn) throw new Error('batch was not built for training');
      const scaled = tf.mul(dy, batch.rowScale);
      const unitGrad =
        batch.unitColumnExtent! > 0 ? tf.sparse.sparseSegmentSum(scaled, batch.unitSegmentsByColumn, batch.unitColsByColumn) : null;
      const grad = toRows(unitGrad as tf.Tensor2D | null, batch.unitColumnExtent!, batch.width, units);
      if (batch.heavyExtent === 0) return grad;
      const heavyGradRows = tf.mul(tf.sparse.sparseSegmentSum(scaled, batch.heavySegments, batch.heavyPositions), batch.heavyValues);
      return tf.add(grad, tf.scatterND(tf.expandDims(batch.heavyCols, 1), heavyGradRows, kernel.shape));
    };
    return { value, gradFunc };
  };
  const bag = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]);
  return bag(kernel) as tf.Tensor2D;
}

export interface ModelTensors {
  kernel1: tf.Tensor2D;
  /** [inputWidth, 1] featurizer column scale (idf) of each sparse model input. */
  columnScale?: tf.Tensor2D;
  bias1: tf.Tensor1D;
  kernel2?: tf.Tensor2D;
  bias2?: tf.Tensor1D;
}

/** First layer pre-activation [rows, K1]. */
function firstLayer(params: ModelTensors, batch: InputBatch): tf.Tensor2D {
  if (batch.kind === 'dense') return tf.add(tf.matMul(batch.x, params.kernel1), params.bias1);
  const scaled = params.columnScale ? tf.mul(params.kernel1, params.columnScale) : params.kernel1;
  const bag = embeddingBag(scaled as tf.Tensor2D, batch);
  if (!batch.dense) return tf.add(bag, params.bias1);
  const { x, start } = batch.dense;
  const denseKernel = tf.slice(scaled, [start, 0], [x.shape[1], -1]);
  return tf.add(tf.add(bag, tf.matMul(x, denseKernel)), params.bias1);
}

/** Hidden representation [rows, hiddenUnits] (mlp) or logits [rows, classes] (softmax). */
export function representation(topology: ModelTopology, params: ModelTensors, batch: InputBatch): tf.Tensor2D {
  const first = firstLayer(params, batch);
  return topology.architecture === 'mlp' ? tf.relu(first) : first;
}

/** Logits [rows, classes]; `dropout` (training only) applies to the hidden layer. */
export function logits(
  topology: ModelTopology,
  params: ModelTensors,
  batch: InputBatch,
  dropout?: { rate: number; seed: number },
): tf.Tensor2D {
  const first = firstLayer(params, batch);
  if (topology.architecture === 'softmax') return first;
  let hidden: tf.Tensor2D = tf.relu(first);
  if (dropout && dropout.rate > 0) hidden = tf.dropout(hidden, dropout.rate, undefined, dropout.seed) as tf.Tensor2D;
  return tf.add(tf.matMul(hidden, params.kernel2!), params.bias2!);
}

/** Column lookup from featurizer column to model input (−1 when the model never saw it). */
export function columnMapOf(state: ModelState, featurizerWidth: number): Int32Array | undefined {
  if (state.topology.inputKind !== 'sparse') return undefined;
  const columns = weight(state, 'columns').values;
  const map = new Int32Array(featurizerWidth).fill(-1);
  for (let i = 0; i < columns.length; i++) if (columns[i] < featurizerWidth) map[columns[i]] = i;
  return map;
}

/** Featurizer column scale of each model input, as [inputWidth, 1] values (undefined for dense input). */
export function modelColumnScale(columns: Int32Array | undefined, matrix: FeatureMatrix): Float32Array | undefined {
  if (!columns || matrix.kind !== 'sparse' || !matrix.columnScale) return undefined;
  const scale = matrix.columnScale;
  const values = new Float32Array(columns.length);
  for (let i = 0; i < columns.length; i++) values[i] = scale[columns[i]];
  return values;
}

/** Runs `fn` with the model's float weights as tensors and disposes them afterwards. */
export function withModelTensors<T>(state: ModelState, columnScale: Float32Array | undefined, fn: (params: ModelTensors) => T): T {
  const tensors: Record<string, tf.Tensor> = {};
  for (const w of state.weights) {
    if (w.dtype === 'float32') tensors[w.name] = tf.tensor(w.values, w.shape, 'float32');
  }
  if (columnScale) tensors.columnScale = tf.tensor2d(columnScale, [columnScale.length, 1]);
  try {
    return fn(tensors as unknown as ModelTensors);
  } finally {
    tf.dispose(Object.values(tensors));
  }
}
