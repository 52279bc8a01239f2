/**
 * `npm run simulate -- --pool POOL.jsonl …`: replays active learning on a labeled data set and
 * prints one JSON line per strategy (see --help). File reading and argument parsing live here; the
 * simulation itself is ml/simulation.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseCsv } from 'csv-parse/sync';
import {
  DEFAULT_STRATEGY,
  hashText,
  initBackend,
  runSimulation,
  STRATEGIES,
  type Architecture,
  type FeaturizerKind,
  type ItemInput,
  type SimulationItem,
  type Strategy,
  type WordVectors,
} from '../../ml/index';
import { createRandom, permutation } from '../../ml/seeded-random';
import { loadPackagedWordVectors } from '../repositories/word-vectors.repository';

const HELP = `Usage: npm run simulate -- --pool POOL [options]

Plays the annotator with the labels in POOL, runs the project's training and selection code each
round, evaluates on TEST and prints one JSON line per strategy:
  {"strategy","pool","fullAccuracy","fullMacroF1","curve":[[labels,accuracy,macroF1],...],
   "labelsTo90","labelsTo95","labelsTo99","labelsToMatchRandom","meanAccuracy",
   "trainSecondsPerRound","scoreSecondsPerRound"}
labelsToX: first label count whose mean accuracy over seeds reaches X % of fullAccuracy (the same
model trained on the whole pool); labelsToMatchRandom: first label count reaching random's accuracy
at the full budget (when random is among the strategies).

Options:
  --pool FILE          .jsonl rows {id, text|features|image, label} or .csv with id,text,label columns
  --test FILE          held-out rows in the same format (default: hold out --test-share of POOL)
  --test-share X       share of POOL held out when --test is absent (default 0.25)
  --kind K             text | vector | image (default: text)
  --strategies LIST    comma-separated: ${STRATEGIES.join(', ')}
                       (default: random,${DEFAULT_STRATEGY})
  --model M            softmax | mlp (default: softmax)
  --seed-labels N      random labels before the first round (default 20)
  --batch N            labels per round (default 25)
  --budget N           stop at this many labels (default 1500)
  --seeds LIST         comma-separated seeds; curves are averaged over them (default 1,2,3)
  --no-word-vectors    text features from the words alone, without the pretrained word vectors
                       a project's text models use
  --quiet              no progress on stderr
  --help               this text

image rows carry a data: URL in "image".`;

interface Row {
  id?: string;
  text?: string;
  features?: (number | null)[];
  image?: string;
  label: string;
}

function readRows(file: string): Row[] {
  const content = readFileSync(file, 'utf8');
  if (file.toLowerCase().endsWith('.csv')) {
    return parseCsv(content, { columns: true, skip_empty_lines: true, bom: true }) as Row[];
  }
  return content
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Row);
}

function toItem(row: Row, kind: FeaturizerKind, wordVectors: WordVectors | undefined): SimulationItem {
  let input: ItemInput;
  if (kind === 'text') input = hashText(row.text ?? '', { wordVectors });
  else if (kind === 'vector') input = row.features ?? [];
  else input = row.image ?? '';
  return { input, label: String(row.label) };
}

function numberList(value: string): number[] {
  return value.split(',').map((part) => Number(part.trim()));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pool: { type: 'string' },
      test: { type: 'string' },
      'test-share': { type: 'string', default: '0.25' },
      kind: { type: 'string', default: 'text' },
      strategies: { type: 'string', default: `random,${DEFAULT_STRATEGY}` },
      model: { type: 'string', default: 'softmax' },
      'seed-labels': { type: 'string', default: '20' },
      batch: { type: 'string', default: '25' },
      budget: { type: 'string', default: '1500' },
      seeds: { type: 'string', default: '1,2,3' },
      'no-word-vectors': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.pool) {
    console.log(HELP);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const kind = values.kind as FeaturizerKind;
  if (!['text', 'vector', 'image'].includes(kind)) throw new Error(`unknown --kind ${kind}`);
  const strategies = values.strategies.split(',').map((s) => s.trim()) as Strategy[];
  for (const strategy of strategies) {
    if (!STRATEGIES.includes(strategy)) throw new Error(`unknown strategy ${strategy}; known: ${STRATEGIES.join(', ')}`);
  }
  const model = values.model as Architecture;
  if (model !== 'softmax' && model !== 'mlp') throw new Error(`unknown --model ${model}`);
  const seeds = numberList(values.seeds);

  let poolRows = readRows(values.pool);
  let testRows: Row[];
  if (values.test) {
    testRows = readRows(values.test);
  } else {
    const share = Number(values['test-share']);
    if (!(share > 0 && share < 1)) throw new Error('--test-share must be between 0 and 1');
    // Deterministic hold-out: shuffle with the first seed.
    const order = permutation(poolRows.length, createRandom(seeds[0] ?? 1));
    const testSize = Math.round(poolRows.length * share);
    testRows = order.slice(0, testSize).map((i) => poolRows[i]);
    poolRows = order.slice(testSize).map((i) => poolRows[i]);
  }

  const backend = await initBackend();
  const log = values.quiet ? () => {} : (message: string) => console.error(`[simulate] ${message}`);
  log(`backend ${backend}; pool ${poolRows.length} rows, test ${testRows.length} rows`);
  const wordVectors = kind === 'text' && !values['no-word-vectors'] ? loadPackagedWordVectors() : undefined;
  if (wordVectors) log(`word vectors ${wordVectors.name}`);
  const results = runSimulation({
    kind,
    pool: poolRows.map((row) => toItem(row, kind, wordVectors)),
    test: testRows.map((row) => toItem(row, kind, wordVectors)),
    strategies,
    seedLabels: Number(values['seed-labels']),
    batch: Number(values.batch),
    budget: Number(values.budget),
    seeds,
    model,
    poolName: path.basename(values.pool),
    onProgress: log,
  });
  for (const result of results) console.log(JSON.stringify(result));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
