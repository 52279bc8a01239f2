/**
 * Saves a trained classifier as tfjs model artifacts: a JSON document (topology, weight specs,
 * labels, featurizer settings) and one binary weight buffer laid out as tfjs expects (each weight's
 * little-endian values in weightSpecs order). Large featurizer arrays travel in the same buffer
 * under `featurizer/…` names. The pair fits a bytea column or two files.
 */
import type * as tf from '@tensorflow/tfjs';
import type { TrainedClassifier } from './classifier';
import type { Featurizer } from './features/featurizer';
import type { ModelTopology, NamedWeight } from './model';

export interface SerializedModel {
  json: string;
  weights: Uint8Array;
}

interface ArtifactDocument {
  format: 'loopwise-classifier-artifacts';
  version: 1;
  modelTopology: ModelTopology;
  weightSpecs: tf.io.WeightsManifestEntry[];
  labels: string[];
  featurizer: Record<string, unknown>;
  training: { seed: number; epochs: number; validationLoss: number | null; examples: number };
}

function featurizerParts(featurizer: Featurizer): { json: Record<string, unknown>; arrays: NamedWeight[] } {
  if (featurizer.kind !== 'text') return { json: { ...featurizer }, arrays: [] };
  const { buckets, idf, ...rest } = featurizer;
  return {
    json: rest,
    arrays: [
      { name: 'featurizer/buckets', shape: [buckets.length], dtype: 'int32', values: buckets },
      { name: 'featurizer/idf', shape: [idf.length], dtype: 'float32', values: idf },
    ],
  };
}

/** The classifier as tfjs ModelArtifacts plus the extra Loopwise fields, usable with tf.io handlers. */
export function toModelArtifacts(trained: TrainedClassifier): tf.io.ModelArtifacts & { userDefinedMetadata: Record<string, unknown> } {
  const featurizer = featurizerParts(trained.featurizer);
  const all = [...trained.model.weights, ...featurizer.arrays];
  const weightSpecs = all.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype }));
  const total = all.reduce((sum, w) => sum + w.values.byteLength, 0);
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const w of all) {
    weightData.set(new Uint8Array(w.values.buffer, w.values.byteOffset, w.values.byteLength), offset);
    offset += w.values.byteLength;
  }
  return {
    modelTopology: trained.model.topology as unknown as tf.io.ModelArtifacts['modelTopology'],
    format: 'loopwise-classifier',
    generatedBy: 'loopwise ml',
    weightSpecs,
    weightData: weightData.buffer,
    userDefinedMetadata: {
      labels: trained.labels,
      featurizer: featurizer.json,
      training: { seed: trained.seed, epochs: trained.epochs, validationLoss: trained.validationLoss, examples: trained.examples },
    },
  };
}

export function serializeModel(trained: TrainedClassifier): SerializedModel {
  const artifacts = toModelArtifacts(trained);
  const document: ArtifactDocument = {
    format: 'loopwise-classifier-artifacts',
    version: 1,
    modelTopology: trained.model.topology,
    weightSpecs: artifacts.weightSpecs!,
    labels: trained.labels,
    featurizer: artifacts.userDefinedMetadata.featurizer as Record<string, unknown>,
    training: artifacts.userDefinedMetadata.training as ArtifactDocument['training'],
  };
  return { json: JSON.stringify(document), weights: new Uint8Array(artifacts.weightData as ArrayBuffer) };
}

export function loadModel(serialized: SerializedModel): TrainedClassifier {
  const document = JSON.parse(serialized.json) as ArtifactDocument;
  if (document.format !== 'loopwise-classifier-artifacts') throw new Error('not a Loopwise classifier artifact');
  // Copy so that typed-array views are aligned whatever the source buffer's offset.
  const bytes = serialized.weights.slice();
  const weights: NamedWeight[] = [];
  let offset = 0;
  for (const spec of document.weightSpecs) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const byteLength = count * 4;
    if (offset + byteLength > bytes.byteLength) throw new Error(`weight data too short for ${spec.name}`);
    const buffer = bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + byteLength);
    const dtype = spec.dtype === 'int32' ? 'int32' : 'float32';
    weights.push({ name: spec.name, shape: spec.shape, dtype, values: dtype === 'int32' ? new Int32Array(buffer) : new Float32Array(buffer) });
    offset += byteLength;
  }
  const named = (name: string) => weights.find((w) => w.name === name);
  let featurizer = document.featurizer as unknown as Featurizer;
  if (featurizer.kind === 'text') {
    featurizer = {
      ...featurizer,
      buckets: named('featurizer/buckets')!.values as Int32Array,
      idf: named('featurizer/idf')!.values as Float32Array,
    };
  }
  return {
    labels: document.labels,
    featurizer,
    model: { topology: document.modelTopology, weights: weights.filter((w) => !w.name.startsWith('featurizer/')) },
    seed: document.training.seed,
    epochs: document.training.epochs,
    validationLoss: document.training.validationLoss,
    examples: document.training.examples,
  };
}
