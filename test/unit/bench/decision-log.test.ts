import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DecisionLog } from '../../bench/decision-log.js';

describe("the annotate benchmark's record of submits", () => {
  it('counts two annotators holding one item over overlapping times as a double lease', () => {
    const log = new DecisionLog();
    log.add(7, 0, 1_000, 1_050, 201, randomUUID());
    log.add(7, 1, 1_040, 1_090, 409, randomUUID());
    expect(log.countDoubleLeases()).toBe(1);
  });

  it('does not count one annotator twice, leases one after another, or different items', () => {
    const log = new DecisionLog();
    log.add(7, 0, 1_000, 1_050, 201, randomUUID());
    log.add(7, 0, 1_020, 1_060, 201, randomUUID());
    log.add(8, 1, 1_000, 1_050, 201, randomUUID());
    log.add(8, 2, 1_050, 1_100, 201, randomUUID());
    log.add(9, 3, 1_000, 1_050, 201, randomUUID());
    expect(log.countDoubleLeases()).toBe(0);
  });

  it('finds a double lease between a warm-up submit and a later one, whatever their order in the log', () => {
    const log = new DecisionLog();
    log.add(3, 1, 5_100, 5_150, 201, randomUUID());
    log.add(4, 0, 5_000, 5_050, 201, randomUUID());
    log.add(3, 0, 5_000, 5_200, 201, randomUUID());
    expect(log.countDoubleLeases()).toBe(1);
  });

  it('gives back the key of every acknowledged label, and only those, past its first capacity', () => {
    const log = new DecisionLog();
    const acknowledged: string[] = [];
    for (let i = 0; i < 40_000; i++) {
      const key = randomUUID();
      const status = i % 10 === 0 ? 409 : 201;
      log.add(i, i % 50, i, i + 1, status, key);
      if (status === 201) acknowledged.push(key);
    }
    expect(log.length).toBe(40_000);
    expect([...log.acknowledgedKeys()]).toEqual(acknowledged);
  });
});
