import { describe, expect, it } from 'vitest';
import { type CurvePoint, stopSignal } from '../../../server/services/dashboard.service.js';

const point = (number: number, trainLabels: number, accuracy: number, halfWidth: number, holdoutLabels = 200): CurvePoint => ({
  roundId: number,
  number,
  trainLabels,
  holdoutLabels,
  accuracy,
  accuracyCi: [accuracy - halfWidth, accuracy + halfWidth],
  macroF1: accuracy,
  macroF1Ci: null,
  promoted: true,
});

describe('stopSignal', () => {
  it('waits for enough rounds and holdout labels', () => {
    expect(stopSignal([]).state).toBe('collecting');
    expect(stopSignal([point(1, 25, 0.5, 0.05), point(2, 50, 0.6, 0.05), point(3, 75, 0.7, 0.05)]).state).toBe('collecting');
    const smallHoldout = [1, 2, 3, 4].map((n) => point(n, n * 25, 0.5 + n * 0.05, 0.1, 12));
    expect(stopSignal(smallHoldout)).toMatchObject({ state: 'collecting', message: expect.stringContaining('12 holdout labels') });
  });

  it('says "still improving" while gains exceed the interval', () => {
    const curve = [point(1, 100, 0.6, 0.03), point(2, 125, 0.65, 0.03), point(3, 150, 0.7, 0.03), point(4, 175, 0.75, 0.03)];
    expect(stopSignal(curve)).toMatchObject({ state: 'improving', message: expect.stringMatching(/rose 15\.0 %/) });
  });

  it('calls a plateau when recent rounds stay within the interval', () => {
    const curve = [point(1, 100, 0.8, 0.03), point(2, 125, 0.81, 0.03), point(3, 150, 0.805, 0.03), point(4, 175, 0.812, 0.03)];
    const signal = stopSignal(curve);
    expect(signal.state).toBe('plateau');
    expect(signal.message).toContain('the last 75 labels moved accuracy by 1.2 %');
  });
});
