/**
 * Worker-thread entry for rounds and scoring runs. It lives as long as its RoundWorker and keeps
 * each project's hashed texts, so a text is hashed once per process rather than once per round.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend';
import type { ItemInput } from './features/featurizer';
import { hashText, type HashedText } from './features/text';
import { runRound, scorePool, type RoundProgress } from './round';
import type { WorkerInputs, WorkerReply, WorkerRequest } from './round-in-worker';

const port = parentPort!;
const hashed = new Map<number, Map<number, HashedText>>();

class Cancelled extends Error {}

function textCache(projectId: number): Map<number, HashedText> {
  let cache = hashed.get(projectId);
  if (!cache) hashed.set(projectId, (cache = new Map()));
  return cache;
}

/** Stored compactly: typed arrays take a sixth of the memory of number arrays. */
function compact(text: string): HashedText {
  const { indices, counts } = hashText(text);
  return { indices: Int32Array.from(indices), counts: Uint16Array.from(counts, (c) => Math.min(c, 65_535)) };
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

function progressReporter(id: number, cancel: Int32Array) {
  return (progress: RoundProgress) => {
    if (Atomics.load(cancel, 0) !== 0) throw new Cancelled('cancelled');
    port.postMessage({ id, type: 'progress', progress } satisfies WorkerReply);
  };
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
    case 'forget-project':
      hashed.delete(message.projectId);
      return { id: message.id, type: 'done' };
    case 'round': {
      const { inputs, cancel, ...request } = message.request;
      const result = runRound({ ...request, inputs: inputsOf(inputs), onProgress: progressReporter(message.id, cancel) });
      return { id: message.id, type: 'round', result, numTensors: tf.memory().numTensors };
    }
    case 'score': {
      const { inputs, cancel, ...request } = message.request;
      const scores = scorePool({ ...request, inputs: inputsOf(inputs), onProgress: progressReporter(message.id, cancel) });
      return { id: message.id, type: 'score', scores, numTensors: tf.memory().numTensors };
    }
  }
}

/**
 * Runs this thread at the lowest CPU priority (Linux: nice is per thread), so that training
 * yields the cores to the requests annotators are waiting on. Elsewhere it keeps the default.
 */
function lowerPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid)) setPriority(tid, 19);
  } catch {
    // not Linux, or not allowed: run at normal priority
  }
}

lowerPriority();
const ready = initBackend();

port.on('message', (message: WorkerRequest) => {
  ready
    .then(() => port.postMessage(handle(message)))
    .catch((error: unknown) => {
      const cancelled = error instanceof Cancelled;
      port.postMessage({
        id: message.id,
        type: 'error',
        cancelled,
        message: error instanceof Error ? error.message : String(error),
      } satisfies WorkerReply);
    });
});
