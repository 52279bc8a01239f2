/** The query strategies by name; dependency-free, so the web app shares this list. */
export const STRATEGIES = [
  'random',
  'least-confidence',
  'margin',
  'entropy',
  'cluster-margin',
  'mixed-margin',
  'badge',
  'kmeans-margin',
] as const;
export type Strategy = (typeof STRATEGIES)[number];
