import { describe, expect, it } from 'vitest';
import { CallWindows } from '../../bench/call-windows.js';

describe("the annotate benchmark's windows of the measured run", () => {
  it('puts each call in the window in which it was sent and counts only labels answered 201', () => {
    const windows = new CallWindows(10_000, 2_000, 1_000);
    windows.add('submit', 10_100, 5, 201);
    windows.add('submit', 10_999, 7, 201);
    windows.add('submit', 10_500, 9, 409);
    windows.add('next', 10_200, 4, 200);
    windows.add('submit', 11_000, 3, 201);
    windows.add('next', 11_500, 6, 200);
    expect(windows.summary()).toEqual([
      { labelsPerSecond: 2, nextP99: 4, submitP99: 9 },
      { labelsPerSecond: 1, nextP99: 6, submitP99: 3 },
    ]);
  });

  it('leaves out calls sent before the run, keeps those read as sent after it in the last window, and rates a shorter last window by its length', () => {
    const windows = new CallWindows(10_000, 1_500, 1_000);
    windows.add('submit', 9_990, 50, 201);
    windows.add('submit', 10_100, 5, 201);
    windows.add('submit', 11_100, 5, 201);
    windows.add('submit', 11_500, 5, 201);
    const summary = windows.summary();
    expect(summary.map((w) => w.labelsPerSecond)).toEqual([1, 4]);
  });

  it('sorts each window before taking its p99', () => {
    const windows = new CallWindows(0, 10_000, 10_000);
    for (let i = 100; i >= 1; i--) windows.add('next', i, i, 200);
    expect(windows.summary()[0].nextP99).toBe(100);
  });
});
