import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Kysely } from 'kysely';
import type { Database } from '../../../server/db/schema.js';
import { JobRunner } from '../../../server/jobs/job-runner.js';
import { EventBus } from '../../../server/services/event-bus.js';
import type { RoundRunner } from '../../../server/services/round-runner.js';
import type { RoundService } from '../../../server/services/round.service.js';

/** A runner whose passes take `passMs` and are counted; the database is never reached. */
function countingRunner(events: EventBus, passMs: number) {
  const runner = new JobRunner({} as Kysely<Database>, {} as RoundService, {} as RoundRunner, events, { pollMs: 60_000 });
  const passes: number[] = [];
  vi.spyOn(runner, 'runOnce').mockImplementation(async () => {
    passes.push(Date.now());
    await new Promise((resolve) => setTimeout(resolve, passMs));
    return 0;
  });
  return { runner, passes };
}

/**
 * When passes start (ms after the first, at start) for a runner whose passes take `passMs`, when
 * `signal` comes `atMs` after start and nothing else happens for a second.
 */
async function passesAfter(passMs: number, atMs: number, signal: (events: EventBus) => void): Promise<number[]> {
  const events = new EventBus();
  const { runner, passes } = countingRunner(events, passMs);
  runner.start();
  await vi.advanceTimersByTimeAsync(atMs);
  signal(events);
  await vi.advanceTimersByTimeAsync(1_000);
  await Promise.all([runner.stop(), vi.advanceTimersByTimeAsync(passMs)]);
  return passes.map((at) => at - passes[0]);
}

describe('JobRunner', () => {
  beforeEach(() => vi.useFakeTimers({ now: new Date('2026-12-07T10:00:00Z') }));
  afterEach(() => vi.useRealTimers());

  it('keeps looking for due rounds while labels arrive, at most five times a second', async () => {
    const events = new EventBus();
    const { runner, passes } = countingRunner(events, 10);
    runner.start();
    // A label every 5 ms: many land while a pass is running.
    const labels = setInterval(() => events.labelsStored(1), 5);
    await vi.advanceTimersByTimeAsync(2_000);
    clearInterval(labels);

    // Not only at the 60 s poll: labels stored during a pass bring the next one…
    expect(passes.length).toBeGreaterThanOrEqual(9);
    // …but no sooner than 200 ms after they were stored, rather than straight after the pass.
    expect(passes.length).toBeLessThanOrEqual(11);
    for (let i = 1; i < passes.length; i++) expect(passes[i] - passes[i - 1]).toBeGreaterThanOrEqual(190);
    await Promise.all([runner.stop(), vi.advanceTimersByTimeAsync(10)]);
  });

  it('looks again 200 ms after a label stored while a pass was running', async () => {
    expect(await passesAfter(50, 20, (events) => events.labelsStored(1))).toEqual([0, 220]);
  });

  it('looks for a job as soon as one is queued, not at the next poll', async () => {
    expect(await passesAfter(10, 500, (events) => events.jobQueued())).toEqual([0, 500]);
  });
});
