/** Support tickets whose label follows from their words, so a model trained on a few dozen learns them. */
const vocabulary: Record<string, string[]> = {
  billing: ['invoice', 'refund', 'charged', 'payment', 'card', 'price', 'billing', 'receipt'],
  bug: ['crash', 'error', 'exception', 'broken', 'freezes', 'stack', 'trace', 'bug'],
  other: ['hello', 'thanks', 'question', 'feedback', 'love', 'idea', 'suggestion', 'meeting'],
};

export const ticketLabels = Object.keys(vocabulary);

/** The i-th ticket: external id `t<i>`, its text and its true label. */
export function ticket(i: number): { id: string; text: string; truth: string } {
  const truth = ticketLabels[i % 3];
  const words = vocabulary[truth];
  return { id: `t${i}`, text: `${words[i % 8]} ${words[(i * 3 + 1) % 8]} ${words[(i * 5 + 2) % 8]} number ${i}`, truth };
}
