import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExpiringMap } from '../../../server/services/expiring-map.js';

describe('the access cache', () => {
  beforeEach(() => vi.useFakeTimers({ now: new Date('2026-11-22T10:00:00Z') }));
  afterEach(() => vi.useRealTimers());

  it('forgets an answer after its time to live, so changes made elsewhere arrive within it', () => {
    const map = new ExpiringMap<string, string>(5_000, 10);
    map.set('token', 'ada');
    vi.advanceTimersByTime(4_999);
    expect(map.get('token')).toBe('ada');
    vi.advanceTimersByTime(1);
    expect(map.get('token')).toBeUndefined();
  });

  it('never outlives the credential it describes', () => {
    const map = new ExpiringMap<string, string>(5_000, 10);
    map.set('token', 'ada', new Date(Date.now() + 1_000));
    vi.advanceTimersByTime(999);
    expect(map.get('token')).toBe('ada');
    vi.advanceTimersByTime(1);
    expect(map.get('token')).toBeUndefined();
  });

  it('spreads the expiry of answers learnt together, so their callers do not all ask the database again at once', () => {
    const map = new ExpiringMap<number, number>(1_000, 1_000, 0.5);
    const keys = Array.from({ length: 100 }, (_, i) => i);
    for (const key of keys) map.set(key, key);
    const held = () => keys.filter((key) => map.get(key) !== undefined).length;
    vi.advanceTimersByTime(499);
    expect(held()).toBe(100);
    vi.advanceTimersByTime(251);
    // Between half and all of the time to live: some have expired by three quarters of it, not all.
    expect(held()).toBeGreaterThan(0);
    expect(held()).toBeLessThan(100);
    vi.advanceTimersByTime(250);
    expect(held()).toBe(0);
  });

  it('holds a bounded number of entries, dropping the oldest first', () => {
    const map = new ExpiringMap<number, number>(60_000, 3);
    for (const n of [1, 2, 3, 4]) map.set(n, n * 10);
    expect([1, 2, 3, 4].map((n) => map.get(n))).toEqual([undefined, 20, 30, 40]);
  });

  it('drops the entry set longest ago however long it has run, counting a key set again as new', () => {
    const map = new ExpiringMap<number, number>(60_000, 3);
    for (let n = 1; n <= 1_000; n++) map.set(n, n);
    expect([998, 999, 1_000].map((n) => map.get(n))).toEqual([998, 999, 1_000]);
    map.set(998, -998);
    map.set(1_001, 1_001);
    expect([998, 999, 1_000, 1_001].map((n) => map.get(n))).toEqual([-998, undefined, 1_000, 1_001]);
    map.set(1_002, 1_002);
    expect([998, 1_000, 1_001, 1_002].map((n) => map.get(n))).toEqual([-998, undefined, 1_001, 1_002]);
  });

  it('keeps its bound after being cleared', () => {
    const map = new ExpiringMap<number, number>(60_000, 2);
    for (const n of [1, 2, 3]) map.set(n, n);
    map.clear();
    for (const n of [4, 5, 6]) map.set(n, n);
    expect([4, 5, 6].map((n) => map.get(n))).toEqual([undefined, 5, 6]);
  });
});
