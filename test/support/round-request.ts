/** A small three-label text set and a round request over it, for tests of rounds. */
import { hashText, type RoundRequest } from '../../ml/index.js';

const words: Record<string, string[]> = {
  animal: ['cat', 'dog', 'horse', 'cow', 'mouse', 'sheep'],
  tool: ['hammer', 'saw', 'drill', 'wrench', 'chisel', 'pliers'],
  food: ['bread', 'cheese', 'apple', 'soup', 'rice', 'pasta'],
};
export const labels = Object.keys(words);
export const texts = Array.from({ length: 150 }, (_, i) => {
  const label = labels[i % 3];
  const w = words[label];
  return { text: `${w[i % 6]} and ${w[(i + 2) % 6]} item ${i}`, target: i % 3 };
});
export const inputs = texts.map((t) => hashText(t.text));
export const rows = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

export function request(overrides: Partial<RoundRequest> = {}): RoundRequest {
  return {
    kind: 'text',
    labels,
    inputs,
    train: { rows: rows(0, 60), targets: rows(0, 60).map((r) => texts[r].target) },
    holdout: { rows: rows(60, 90), targets: rows(60, 90).map((r) => texts[r].target) },
    pool: rows(90, 150),
    strategy: 'kmeans-margin',
    batch: 10,
    seed: 1,
    model: 'softmax',
    promotion: 'if-better',
    bootstrap: 200,
    ...overrides,
  };
}
