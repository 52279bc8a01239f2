/** Batched inference over a feature matrix; large pools are cut into chunks to bound memory. */
import * as tf from '@tensorflow/tfjs';
import type { FeatureMatrix } from './features/feature-matrix';
import { disposeBatch, inputBatch, logits, representation, weight, withModelTensors, modelColumnScale, type ModelState } from './model';

const CHUNK_ROWS = 4096;

export interface Inference {
  /** [rows · classes] row-major softmax probabilities. */
  probabilities: Float32Array;
  /** [rows · units] row-major hidden layer (mlp) or logits (softmax), when asked for. */
  representations?: Float32Array;
  units: number;
}

export function infer(
  state: ModelState,
  matrix: FeatureMatrix,
  columnMap: Int32Array | undefined,
  withRepresentations = false,
  /** Rows of `matrix` to infer, in output order; default all. */
  rows?: ArrayLike<number>,
): Inference {
  const { topology } = state;
  const k = topology.classes;
  const units = topology.architecture === 'mlp' ? topology.hiddenUnits : k;
  const count = rows ? rows.length : matrix.rows;
  const probabilities = new Float32Array(count * k);
  const representations = withRepresentations ? new Float32Array(count * units) : undefined;
  withModelTensors(state, modelColumnScale(columnMap ? (weight(state, 'columns').values as Int32Array) : undefined, matrix), (params) => {
    for (let start = 0; start < count; start += CHUNK_ROWS) {
      const end = Math.min(count, start + CHUNK_ROWS);
      const rowIds = Int32Array.from({ length: end - start }, (_, i) => (rows ? rows[start + i] : start + i));
      const batch = inputBatch(matrix, rowIds, columnMap, topology.inputWidth);
      try {
        tf.tidy(() => {
          if (representations) {
            const hidden = representation(topology, params, batch);
            representations.set(hidden.dataSync(), start * units);
            const z =
              topology.architecture === 'mlp' ? tf.add(tf.matMul(hidden, params.kernel2!), params.bias2!) : hidden;
            probabilities.set(tf.softmax(z).dataSync(), start * k);
          } else {
            probabilities.set(tf.softmax(logits(topology, params, batch)).dataSync(), start * k);
          }
        });
      } finally {
        disposeBatch(batch);
      }
    }
  });
  return { probabilities, representations, units };
}
