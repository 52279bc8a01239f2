/** How the Model page writes shares, intervals, durations and times. */
import type { Interval } from '$lib/api/client';

export function percent(share: number, digits = 1): string {
  return `${(share * 100).toFixed(digits)} %`;
}

/** "87.5 % ± 4.1" — the interval's half-width, in percentage points. */
export function withInterval(value: number, interval: Interval | null): string {
  if (!interval) return percent(value);
  return `${percent(value)} ± ${(((interval[1] - interval[0]) / 2) * 100).toFixed(1)}`;
}

export function seconds(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** "about 2 min left". */
export function eta(etaSeconds: number | null): string {
  if (etaSeconds === null || !Number.isFinite(etaSeconds)) return 'estimating…';
  if (etaSeconds < 1) return 'finishing';
  if (etaSeconds < 90) return `about ${Math.ceil(etaSeconds)} s left`;
  return `about ${Math.round(etaSeconds / 60)} min left`;
}

export function relativeTime(iso: string, now = Date.now()): string {
  const minutes = Math.round((now - new Date(iso).getTime()) / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return new Date(iso).toLocaleDateString();
}

export const strategyNames: Record<string, string> = {
  random: 'Random',
  'least-confidence': 'Least confidence',
  margin: 'Margin',
  entropy: 'Entropy',
  'cluster-margin': 'Cluster margin',
  'mixed-margin': 'Mixed margin',
  badge: 'BADGE',
  'kmeans-margin': 'k-means margin',
};

export const modelNames: Record<string, string> = {
  softmax: 'Softmax regression',
  mlp: 'MLP',
};
