import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  featurize,
  fitFeaturizer,
  hashText,
  initBackend,
  loadModel,
  predictProba,
  predictWithRepresentations,
  serializeModel,
  toModelArtifacts,
  trainClassifier,
  type Example,
  type TrainedClassifier,
} from '../../../ml/index';
import { tinyWordVectors } from '../../support/tiny-word-vectors';

const animals = ['cat purrs softly', 'dog barks loudly', 'horse gallops far', 'cow moos in field', 'cat chases mouse', 'dog fetches ball'];
const tools = ['hammer hits nail', 'saw cuts wood', 'drill makes hole', 'wrench turns bolt', 'hammer and chisel', 'saw and drill'];
const texts = [...animals, ...tools];
const textLabels = [...animals.map(() => 'animal'), ...tools.map(() => 'tool')];
const hashed = texts.map((text) => hashText(text));
const textExamples: Example[] = hashed.map((features, i) => ({ features, label: textLabels[i] }));

// Two Gaussian-ish blobs with a missing value here and there.
const vectors = Array.from({ length: 40 }, (_, i) => {
  const side = i % 2 === 0 ? 1 : -1;
  return [side * 2 + Math.sin(i) * 0.3, side * -1 + Math.cos(i) * 0.3, i % 7 === 0 ? null : Math.sin(i * 3)];
});
const vectorLabels = vectors.map((_, i) => (i % 2 === 0 ? 'up' : 'down'));

function trainText(model: 'softmax' | 'mlp', seed = 1): TrainedClassifier {
  const featurizer = fitFeaturizer({ kind: 'text', items: hashed, minDf: 1 });
  return trainClassifier({ featurizer, examples: textExamples, labels: ['animal', 'tool'], model, seed });
}

function accuracy(probabilities: ArrayLike<number>[], truth: number[]): number {
  return probabilities.filter((row, i) => (row[1] > row[0] ? 1 : 0) === truth[i]).length / truth.length;
}

beforeAll(async () => {
  await initBackend();
});

describe('trainClassifier', () => {
  it.each(['softmax', 'mlp'] as const)('learns a separable text set (%s)', (model) => {
    const trained = trainText(model);
    const probabilities = predictProba(trained, [hashText('the cat and the dog'), hashText('a hammer and a saw')]);
    expect(probabilities[0][0]).toBeGreaterThan(0.5);
    expect(probabilities[1][1]).toBeGreaterThan(0.5);
    for (const row of probabilities) expect(row[0] + row[1]).toBeCloseTo(1, 5);
  });

  it.each(['softmax', 'mlp'] as const)('learns separable vectors with missing values (%s)', (model) => {
    const featurizer = fitFeaturizer({ kind: 'vector', items: vectors });
    const trained = trainClassifier({
      featurizer,
      examples: vectors.map((features, i) => ({ features, label: vectorLabels[i] })),
      labels: ['down', 'up'],
      model,
      seed: 3,
    });
    const probabilities = predictProba(trained, vectors);
    expect(accuracy(probabilities, vectorLabels.map((l) => (l === 'up' ? 1 : 0)))).toBe(1);
  });

  it('reports a probability for every project label, including unseen ones', () => {
    const featurizer = fitFeaturizer({ kind: 'text', items: hashed, minDf: 1 });
    const trained = trainClassifier({ featurizer, examples: textExamples, labels: ['animal', 'plant', 'tool'], model: 'softmax', seed: 1 });
    const [row] = predictProba(trained, [hashText('cat')]);
    expect(row).toHaveLength(3);
    expect(row[1]).toBeLessThan(row[0]);
  });

  it('is deterministic for a seed', () => {
    const a = predictProba(trainText('mlp', 5), hashed);
    const b = predictProba(trainText('mlp', 5), hashed);
    expect(b).toEqual(a);
  });

  it('labels a word never seen labeled like its neighbours, given word vectors', () => {
    const train = (wordVectors?: typeof tinyWordVectors) => {
      const docs = ['cat', 'hammer'].map((text) => hashText(text, { wordVectors }));
      const featurizer = fitFeaturizer({ kind: 'text', items: docs, minDf: 1 });
      const examples = [{ features: docs[0], label: 'animal' }, { features: docs[1], label: 'tool' }];
      // Lightly regularised: two examples should be learned, not shrunk towards even odds.
      const trained = trainClassifier({ featurizer, examples, labels: ['animal', 'tool'], model: 'softmax', params: { c: 1000 }, seed: 1 });
      const [kitten, wrench] = predictProba(trained, ['kitten', 'wrench'].map((text) => hashText(text, { wordVectors })));
      return kitten[0] - wrench[0];
    };
    // How much more an animal "kitten" is than "wrench": neither was labeled.
    expect(train(tinyWordVectors)).toBeGreaterThan(0.1);
    expect(train()).toBe(0);
  });

  it('scores chosen rows of a featurised pool as it scores those rows alone', () => {
    const trained = trainText('softmax');
    const matrix = featurize(trained.featurizer, hashed);
    const rows = [7, 0, 11, 3];
    expect(predictProba(trained, matrix, rows)).toEqual(predictProba(trained, rows.map((r) => hashed[r])));
  });

  it('scores a text alike alone and in a batch, whatever words it has', () => {
    // Repeated words only (no tf-1 entries), no known words, nothing at all: in one batch and each alone.
    const odd = [hashText('cat cat cat'), hashText('zebra quokka'), hashText(''), hashText('hammer saw')];
    const examples = [...textExamples, { features: odd[0], label: 'animal' }];
    const featurizer = fitFeaturizer({ kind: 'text', items: [...hashed, odd[0]], minDf: 1 });
    const trained = trainClassifier({ featurizer, examples, labels: ['animal', 'tool'], model: 'softmax', seed: 1 });
    const together = predictProba(trained, odd);
    odd.forEach((text, i) => expect(Array.from(predictProba(trained, [text])[0])).toEqual(Array.from(together[i])));
    expect(together[0][0]).toBeGreaterThan(0.5);
    // Without known words only the bias speaks.
    expect(Array.from(together[1])).toEqual(Array.from(together[2]));
  });

  it('trains on every label by default, and stops early on a validation slice when asked', () => {
    const featurizer = fitFeaturizer({ kind: 'vector', items: vectors });
    const examples = vectors.map((features, i) => ({ features, label: vectorLabels[i] }));
    const train = (params: object) => {
      let run = 0;
      const trained = trainClassifier({ featurizer, examples, labels: ['down', 'up'], model: 'softmax', seed: 3, params, onEpoch: () => run++ });
      return { trained, run };
    };
    const plain = train({});
    expect(plain.trained.validationLoss).toBeNull();
    expect(plain.run).toBe(60);
    const stopped = train({ validationFrom: 20, maxEpochs: 2000, minSteps: 1_000_000, patience: 2 });
    expect(stopped.trained.validationLoss).toBeGreaterThan(0);
    expect(stopped.run).toBeLessThan(2000);
    // The weights kept are those of the best epoch, `patience` epochs before the last one run.
    expect(stopped.trained.epochs).toBe(stopped.run - 2);
  });

  it('rejects labels that are not project labels', () => {
    const featurizer = fitFeaturizer({ kind: 'text', items: hashed, minDf: 1 });
    expect(() =>
      trainClassifier({ featurizer, examples: [{ features: hashed[0], label: 'rock' }], labels: ['animal'], model: 'softmax', seed: 1 }),
    ).toThrow(/rock/);
  });

  it('leaves no tensors behind after training and prediction', () => {
    const before = tf.memory().numTensors;
    const trained = trainText('mlp');
    predictProba(trained, hashed);
    predictWithRepresentations(trained, hashed);
    const featurizer = fitFeaturizer({ kind: 'vector', items: vectors });
    const dense = trainClassifier({
      featurizer,
      examples: vectors.map((features, i) => ({ features, label: vectorLabels[i] })),
      labels: ['down', 'up'],
      model: 'softmax',
      seed: 3,
      params: { validationFrom: 10 },
    });
    predictProba(dense, vectors);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('model artifacts', () => {
  it.each(['softmax', 'mlp'] as const)('round-trip to identical predictions (%s)', (model) => {
    const trained = trainText(model);
    const serialized = serializeModel(trained);
    expect(typeof serialized.json).toBe('string');
    expect(serialized.weights).toBeInstanceOf(Uint8Array);
    const loaded = loadModel({ json: serialized.json, weights: Uint8Array.from(serialized.weights) });
    expect(loaded.labels).toEqual(trained.labels);
    expect(predictProba(loaded, hashed)).toEqual(predictProba(trained, hashed));
  });

  it.each(['softmax', 'mlp'] as const)('round-trip a text model with word vectors to identical predictions, leaving no tensors (%s)', (model) => {
    const before = tf.memory().numTensors;
    const docs = texts.map((text) => hashText(text, { wordVectors: tinyWordVectors }));
    const featurizer = fitFeaturizer({ kind: 'text', items: docs, minDf: 1 });
    const trained = trainClassifier({ featurizer, examples: docs.map((features, i) => ({ features, label: textLabels[i] })), labels: ['animal', 'tool'], model, seed: 1 });
    const loaded = loadModel(serializeModel(trained));
    const unseen = ['a kitten', 'hammer'].map((text) => hashText(text, { wordVectors: tinyWordVectors }));
    expect(predictProba(loaded, unseen)).toEqual(predictProba(trained, unseen));
    expect(loaded.featurizer).toMatchObject({ vectorDimensions: 2 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('are tfjs ModelArtifacts with weight specs matching the weight data', () => {
    const artifacts = toModelArtifacts(trainText('mlp'));
    const bytes = artifacts.weightSpecs!.reduce((sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1) * 4, 0);
    expect((artifacts.weightData as ArrayBuffer).byteLength).toBe(bytes);
    expect(artifacts.weightSpecs!.map((spec) => spec.name)).toEqual(
      expect.arrayContaining(['kernel1', 'bias1', 'kernel2', 'bias2', 'columns']),
    );
  });
});
