import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CallSchedule } from '../../bench/annotator-load.js';

describe('CallSchedule', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  // 50 annotators offering 1,500 labels/s, one queue/next per 5 labels: 36 calls/s each.
  const intervalMs = 1000 / 36;

  it('spaces one annotator’s calls evenly at its share of the offered rate', async () => {
    const start = performance.now();
    const schedule = new CallSchedule(1500, 50, 5);
    const dues: number[] = [];
    for (let i = 0; i < 4; i++) {
      const call = schedule.waitForNextCall();
      await vi.advanceTimersByTimeAsync(intervalMs);
      dues.push(await call);
    }
    // The first call falls somewhere in the first interval, so that annotators do not call in step.
    expect(dues[0] - start).toBeGreaterThanOrEqual(0);
    expect(dues[0] - start).toBeLessThan(intervalMs);
    for (let i = 1; i < dues.length; i++) expect(dues[i] - dues[i - 1]).toBeCloseTo(intervalMs, 6);
  });

  it('sends a late call at once and answers when it was due, so the wait counts as latency', async () => {
    const schedule = new CallSchedule(1500, 50, 5);
    const firstCall = schedule.waitForNextCall();
    await vi.advanceTimersByTimeAsync(intervalMs);
    const first = await firstCall;
    // The answer to the first call took three intervals.
    await vi.advanceTimersByTimeAsync(3 * intervalMs);
    let sent = false;
    const second = schedule.waitForNextCall().then((due) => ((sent = true), due));
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toBe(true);
    expect(await second).toBeCloseTo(first + intervalMs, 6);
    expect(performance.now() - (await second)).toBeGreaterThan(intervalMs);
  });
});
