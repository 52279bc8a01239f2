import { describe, expect, it } from 'vitest';
import { evaluate, wilsonInterval } from '../../../ml/metrics';

// truth:      a a b b c
// predicted:  a b b b a
const labels = ['a', 'b', 'c'];
const truth = [0, 0, 1, 1, 2];
const probabilities = [
  [0.8, 0.1, 0.1],
  [0.3, 0.6, 0.1],
  [0.2, 0.7, 0.1],
  [0.1, 0.9, 0.0],
  [0.5, 0.3, 0.2],
];

describe('evaluate', () => {
  const metrics = evaluate({ labels, truth, probabilities, bootstrap: 0 });

  it('counts accuracy and the confusion matrix', () => {
    expect(metrics.accuracy).toBeCloseTo(3 / 5, 12);
    expect(metrics.confusion).toEqual([
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 0],
    ]);
  });

  it('computes per-label precision, recall, F1 and macro-F1', () => {
    const [a, b, c] = metrics.perLabel;
    expect(a).toMatchObject({ label: 'a', precision: 0.5, recall: 0.5, support: 2 });
    expect(a.f1).toBeCloseTo(0.5, 12);
    expect(b.precision).toBeCloseTo(2 / 3, 12);
    expect(b.recall).toBe(1);
    expect(b.f1).toBeCloseTo(0.8, 12);
    expect(c).toMatchObject({ precision: 0, recall: 0, f1: 0, support: 1 });
    expect(metrics.macroF1).toBeCloseTo((0.5 + 0.8 + 0) / 3, 12);
  });

  it('computes log-loss and expected calibration error', () => {
    const expectedLogLoss = -(Math.log(0.8) + Math.log(0.3) + Math.log(0.7) + Math.log(0.9) + Math.log(0.2)) / 5;
    expect(metrics.logLoss).toBeCloseTo(expectedLogLoss, 12);
    // Confidence bins (10 wide): 0.8 ✓ → bin 8; 0.6 ✗ → bin 6; 0.7 ✓ → bin 7; 0.9 ✓ → bin 9; 0.5 ✗ → bin 5.
    const expectedEce = (Math.abs(1 - 0.8) + Math.abs(0 - 0.6) + Math.abs(1 - 0.7) + Math.abs(1 - 0.9) + Math.abs(0 - 0.5)) / 5;
    expect(metrics.expectedCalibrationError).toBeCloseTo(expectedEce, 12);
  });

  it('gives seeded bootstrap intervals that contain the point estimate', () => {
    const many = Array.from({ length: 40 }, (_, i) => i % 5);
    const withCi = evaluate({
      labels,
      truth: many.map((i) => truth[i]),
      probabilities: many.map((i) => probabilities[i]),
      bootstrap: 500,
      seed: 11,
    });
    const again = evaluate({
      labels,
      truth: many.map((i) => truth[i]),
      probabilities: many.map((i) => probabilities[i]),
      bootstrap: 500,
      seed: 11,
    });
    expect(withCi.accuracyInterval).toEqual(again.accuracyInterval);
    expect(withCi.accuracyInterval!.low).toBeLessThanOrEqual(0.6);
    expect(withCi.accuracyInterval!.high).toBeGreaterThanOrEqual(0.6);
    expect(withCi.accuracyInterval!.high - withCi.accuracyInterval!.low).toBeGreaterThan(0.05);
    expect(withCi.macroF1Interval!.low).toBeLessThanOrEqual(withCi.macroF1);
    expect(withCi.macroF1Interval!.high).toBeGreaterThanOrEqual(withCi.macroF1);
  });

  it('never claims certainty when every holdout item is right', () => {
    const right = evaluate({ labels: ['a', 'b'], truth: Array.from({ length: 30 }, (_, i) => i % 2), probabilities: Array.from({ length: 30 }, (_, i) => (i % 2 ? [0.1, 0.9] : [0.9, 0.1])) });
    expect(right.accuracy).toBe(1);
    expect(right.accuracyInterval!.high).toBe(1);
    // Wilson at 30 of 30: 88.6 % to 100 %.
    expect(right.accuracyInterval!.low).toBeCloseTo(0.8865, 3);
  });
});

describe('wilsonInterval', () => {
  it('matches the textbook values', () => {
    const half = wilsonInterval(0.5, 100);
    expect(half.low).toBeCloseTo(0.4038, 3);
    expect(half.high).toBeCloseTo(0.5962, 3);
    expect(wilsonInterval(0, 10).low).toBe(0);
    expect(wilsonInterval(0, 10).high).toBeCloseTo(0.2775, 3);
  });

  it('always holds the proportion itself, a perfect holdout included', () => {
    for (const n of [27, 30, 166]) {
      expect(wilsonInterval(1, n).high).toBe(1);
      expect(wilsonInterval(0, n).low).toBe(0);
    }
  });
});
