import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareAccuracy, initBackend, runRound, strategyAt, type RoundProgress } from '../../../ml/index';
import { request, rows, texts } from '../../support/round-request.js';

beforeAll(async () => {
  await initBackend();
});

describe('runRound', () => {
  it('trains, evaluates with intervals, promotes the first model and scores the pool', () => {
    const phases: string[] = [];
    const epochs: number[] = [];
    const before = tf.memory().numTensors;
    const result = runRound(
      request({
        onProgress: (p: RoundProgress) => {
          if (phases.at(-1) !== p.phase) phases.push(p.phase);
          if (p.epoch) epochs.push(p.epoch.epoch);
        },
      }),
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(phases).toEqual(['featurizing', 'training', 'evaluating', 'scoring']);
    expect(epochs[0]).toBe(1);
    expect(result.metrics!.accuracy).toBeGreaterThan(0.9);
    expect(result.metrics!.accuracyInterval!.low).toBeLessThanOrEqual(result.metrics!.accuracy);
    expect(result.promotion).toEqual({ promote: true, reason: 'no model was promoted yet' });
    const scores = result.scores!;
    expect(scores.priority).toHaveLength(60);
    // Suggestions follow the words; the selected batch sits above everything else.
    const right = rows(90, 150).filter((row, i) => scores.suggestion[i] === texts[row].target).length;
    expect(right / 60).toBeGreaterThan(0.9);
    const picked = [...scores.priority].filter((p) => p > 2);
    expect(picked).toHaveLength(10);
    expect(Math.max(...[...scores.priority].filter((p) => p <= 2))).toBeLessThanOrEqual(1);
    // The queue order: every pool position once, the selected batch first, priorities never rising.
    expect([...scores.order].sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    const ordered = [...scores.order].map((i) => scores.priority[i]);
    expect(ordered.slice(0, 10).every((p) => p > 2)).toBe(true);
    expect(ordered.every((p, i) => i === 0 || p <= ordered[i - 1])).toBe(true);
  });

  it('keeps the incumbent when the challenger is worse beyond noise, and scores the pool with the incumbent', () => {
    const good = runRound(request());
    // Trained on shuffled labels: it can only guess.
    const scrambled = rows(0, 60).map((r) => (texts[r].target + (r % 2) + 1) % 3);
    const bad = runRound(request({ incumbent: good.model, train: { rows: rows(0, 60), targets: scrambled } }));
    expect(bad.comparison!.worseBeyondNoise).toBe(true);
    expect(bad.promotion.promote).toBe(false);
    expect(bad.promotion.reason).toMatch(/^worse than the promoted model by/);
    // The pool is scored with the incumbent: its suggestions are still right.
    expect(Array.from(bad.scores!.suggestion)).toEqual(Array.from(good.scores!.suggestion));
  });

  it('follows the policy: never promotes, or always', () => {
    expect(runRound(request({ promotion: 'never' })).promotion.promote).toBe(false);
    expect(runRound(request({ promotion: 'never' })).scores).toBeNull();
    const good = runRound(request());
    const scrambled = rows(0, 60).map((r) => (texts[r].target + 1) % 3);
    expect(runRound(request({ promotion: 'always', incumbent: good.model, train: { rows: rows(0, 60), targets: scrambled } })).promotion.promote).toBe(true);
  });

  it('uses cold-start picks while a label has too few examples', () => {
    const few = rows(0, 60).filter((r) => texts[r].target !== 2);
    const result = runRound(request({ train: { rows: few, targets: few.map((r) => texts[r].target) } }));
    const strategies = new Set([...result.scores!.strategy.keys()].filter((i) => result.scores!.priority[i] > 2).map((i) => strategyAt(result.scores!, i)));
    expect([...strategies]).toEqual(['cold-start (random)']);
  });
});

describe('compareAccuracy', () => {
  it('gives a paired interval that separates a clearly worse model from noise', () => {
    const truth = Array.from({ length: 100 }, (_, i) => i % 2);
    const right = truth.map((t) => (t === 0 ? [0.9, 0.1] : [0.1, 0.9]));
    const wrongOnFive = right.map((row, i) => (i < 5 ? [row[1], row[0]] : row));
    const wrongOnThirty = right.map((row, i) => (i < 30 ? [row[1], row[0]] : row));
    const close = compareAccuracy({ truth, incumbent: right, challenger: wrongOnFive, bootstrap: 500 });
    expect(close.difference).toBeCloseTo(-0.05);
    const far = compareAccuracy({ truth, incumbent: right, challenger: wrongOnThirty, bootstrap: 500 });
    expect(far.difference).toBeCloseTo(-0.3);
    expect(far.worseBeyondNoise).toBe(true);
    expect(far.differenceInterval.high).toBeLessThan(0);
    expect(compareAccuracy({ truth, incumbent: right, challenger: right }).worseBeyondNoise).toBe(false);
  });
});
