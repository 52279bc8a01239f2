import { describe, expect, it } from 'vitest';
import { ForegroundWork } from '../../../server/services/foreground-work.js';

describe('ForegroundWork', () => {
  it('is busy from the first request in progress to the last one answered', () => {
    const work = new ForegroundWork();
    const changes: boolean[] = [];
    work.onChange((busy) => changes.push(busy));
    const first = work.begin();
    const second = work.begin();
    expect(work.busy).toBe(true);
    first();
    first(); // answering twice counts once
    expect(work.busy).toBe(true);
    second();
    expect(work.busy).toBe(false);
    expect(changes).toEqual([true, false]);
  });

  it('stops telling a listener that unsubscribed', () => {
    const work = new ForegroundWork();
    const changes: boolean[] = [];
    const off = work.onChange((busy) => changes.push(busy));
    work.begin()();
    off();
    work.begin()();
    expect(changes).toEqual([true, false]);
  });

  it('tells background work when it may go: at once when idle, else at the last answer or after the wait', async () => {
    const work = new ForegroundWork();
    let resolved = false;
    await work.whenIdle(10_000); // idle: no wait
    const answered = work.begin();
    const waiting = work.whenIdle(10_000).then(() => (resolved = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(resolved).toBe(false);
    answered();
    await waiting;
    const stillBusy = work.begin();
    const started = performance.now();
    await work.whenIdle(30);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    stillBusy();
  });
});
