import { describe, expect, it } from 'vitest';
import { fitFeaturizer, hashText, initBackend, predictProba, trainClassifier, trainInWorker } from '../../../ml/index';

describe('trainInWorker', () => {
  it('trains off the main thread and returns the same model as training in-process', async () => {
    await initBackend();
    const texts = ['sunny warm day', 'hot sunny beach', 'cold snowy night', 'icy cold wind', 'warm sun', 'snow and ice'];
    const labels = ['warm', 'warm', 'cold', 'cold', 'warm', 'cold'];
    const hashed = texts.map((text) => hashText(text));
    const featurizer = fitFeaturizer({ kind: 'text', items: hashed, minDf: 1 });
    const request = {
      featurizer,
      examples: hashed.map((features, i) => ({ features, label: labels[i] })),
      labels: ['cold', 'warm'],
      model: 'softmax' as const,
      seed: 9,
    };
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const remote = await trainInWorker(request);
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(0);
    const local = trainClassifier(request);
    expect(predictProba(remote, hashed)).toEqual(predictProba(local, hashed));
  });
});
