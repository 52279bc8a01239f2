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

  it('holds a bounded number of entries, dropping the oldest first', () => {
    const map = new ExpiringMap<number, number>(60_000, 3);
    for (const n of [1, 2, 3, 4]) map.set(n, n * 10);
    expect([1, 2, 3, 4].map((n) => map.get(n))).toEqual([undefined, 20, 30, 40]);
  });
});
