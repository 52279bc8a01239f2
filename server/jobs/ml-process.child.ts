/**
 * Child-process entry for rounds and scoring runs (see ml-process.ts). It lives as long as its
 * host and keeps each project's hashed texts (with their word vectors), so a text is hashed once
 * per process rather than once per round.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import {
  hashText,
  initBackend,
  runRound,
  scorePool,
  type HashedText,
  type ItemInput,
  type RoundProgress,
  type SerializedModel,
  type WordVectors,
} from '../../ml/index.js';
import { loadPackagedWordVectors } from '../repositories/word-vectors.repository.js';
import { ExpiringMap } from '../services/expiring-map.js';
import type { ModelRef, WorkerInputs, WorkerReply, WorkerRequest } from './ml-process.js';

if (!process.send) throw new Error('ml-process.child runs as a child process with an IPC channel');
const reply = (message: WorkerReply) => process.send!(message);
const hashed = new Map<number, Map<number, HashedText>>();
/** The last rounds' models by round id: the next round compares against one of them. */
const models = new ExpiringMap<number, SerializedModel>(Infinity, 3);

/** The referenced model, or undefined when it was neither sent nor kept. */
function modelOf(ref: ModelRef): SerializedModel | undefined {
  if (ref.model) models.set(ref.roundId, ref.model);
  return models.get(ref.roundId);
}

function textCache(projectId: number): Map<number, HashedText> {
  let cache = hashed.get(projectId);
  if (!cache) hashed.set(projectId, (cache = new Map()));
  return cache;
}

let wordVectors: WordVectors | null | undefined;

/** Loaded with the first text; without them (an install that lacks the package) texts are hashed alone. */
function packagedWordVectors(): WordVectors | undefined {
  if (wordVectors === undefined) {
    try {
      wordVectors = loadPackagedWordVectors();
    } catch (error) {
      wordVectors = null;
      console.error(`Word vectors unavailable, text models learn from words alone: ${error instanceof Error ? error.message : error}`);
    }
  }
  return wordVectors ?? undefined;
}

/** Stored compactly: typed arrays take a sixth of the memory of number arrays. */
function compact(text: string): HashedText {
  const { indices, counts, vector } = hashText(text, { wordVectors: packagedWordVectors() });
  return { indices: Int32Array.from(indices), counts: Uint16Array.from(counts, (c) => Math.min(c, 65_535)), vector };
}

function inputsOf(inputs: WorkerInputs): ItemInput[] {
  if (inputs.kind !== 'cached-text') return inputs.values;
  const cache = textCache(inputs.projectId);
  return Array.from(inputs.itemIds, (id) => {
    const doc = cache.get(id);
    if (!doc) throw new Error(`item ${id} was not sent to the worker`);
    return doc;
  });
}

function progressReporter(id: number) {
  return (progress: RoundProgress) => reply({ id, type: 'progress', progress });
}

function handle(message: WorkerRequest): WorkerReply {
  switch (message.type) {
    case 'missing-texts': {
      const cache = textCache(message.projectId);
      return { id: message.id, type: 'missing-texts', itemIds: message.itemIds.filter((id) => !cache.has(id)) };
    }
    case 'add-texts': {
      const cache = textCache(message.projectId);
      message.itemIds.forEach((id, i) => cache.set(id, compact(message.texts[i] ?? '')));
      return { id: message.id, type: 'done' };
    }
    case 'round': {
      const { inputs, incumbent: ref, roundId, ...request } = message.request;
      const incumbent = ref && modelOf(ref);
      if (ref && !incumbent) return { id: message.id, type: 'missing-model', roundId: ref.roundId };
      const { model, ...result } = runRound({ ...request, incumbent, inputs: inputsOf(inputs), onProgress: progressReporter(message.id) });
      models.set(roundId, model);
      const summary = { json: model.json, weightBytes: model.weights.length };
      return { id: message.id, type: 'round', result: { ...result, model: summary }, numTensors: tf.memory().numTensors };
    }
    case 'weights': {
      const model = models.get(message.roundId);
      if (!model) return { id: message.id, type: 'missing-model', roundId: message.roundId };
      // A copy: a view would carry its whole buffer across the channel.
      return { id: message.id, type: 'weights', bytes: model.weights.slice(message.from, message.to) };
    }
    case 'score': {
      const { inputs, model: ref, ...request } = message.request;
      const model = modelOf(ref);
      if (!model) return { id: message.id, type: 'missing-model', roundId: ref.roundId };
      const scores = scorePool({ ...request, model, inputs: inputsOf(inputs), onProgress: progressReporter(message.id) });
      return { id: message.id, type: 'score', scores, numTensors: tf.memory().numTensors };
    }
  }
}

// Started under `nice` where the system has it; otherwise lower at least this main thread. On
// Linux with autogroup scheduling, CPU is first shared between sessions: lower this session's
// group as well, or it would take half the machine from the database and the server.
try {
  setPriority(process.pid, 19);
} catch {
  // not allowed: run at normal priority
}
try {
  if (existsSync('/proc/self/autogroup')) writeFileSync('/proc/self/autogroup', '19');
} catch {
  // no autogroup scheduling here
}
const ready = initBackend();

process.on('message', (message: WorkerRequest) => {
  ready
    .then(() => reply(handle(message)))
    .catch((error: unknown) => {
      reply({ id: message.id, type: 'error', message: error instanceof Error ? error.message : String(error) });
    });
});
// The host going away ends the child.
process.on('disconnect', () => process.exit(0));
