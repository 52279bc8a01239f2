/**
 * Runs rounds and scoring runs on one long-lived worker thread, so training and scoring never
 * hold the caller's event loop. Texts are sent once per process: `ensureTexts` asks the worker
 * which items it has not hashed yet and sends only those.
 */
import { Worker } from 'node:worker_threads';
import type { ItemInput } from './features/featurizer';
import type { PoolScores, RoundProgress, RoundRequest, RoundResult, ScorePoolRequest } from './round';

/** Featurizer inputs: texts already in the worker's cache (by item id), or the values themselves. */
export type WorkerInputs = { kind: 'cached-text'; projectId: number; itemIds: number[] } | { kind: 'values'; values: ItemInput[] };

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

type WithInputs<T> = Omit<T, 'inputs' | 'onProgress'> & { inputs: WorkerInputs; cancel: Int32Array };

export type WorkerRequest =
  | { id: number; type: 'missing-texts'; projectId: number; itemIds: number[] }
  | { id: number; type: 'add-texts'; projectId: number; itemIds: number[]; texts: Array<string | null> }
  | { id: number; type: 'forget-project'; projectId: number }
  | { id: number; type: 'round'; request: WithInputs<RoundRequest> }
  | { id: number; type: 'score'; request: WithInputs<ScorePoolRequest> };

export type WorkerReply =
  | { id: number; type: 'progress'; progress: RoundProgress }
  | { id: number; type: 'missing-texts'; itemIds: number[] }
  | { id: number; type: 'done' }
  | { id: number; type: 'round'; result: RoundResult; numTensors: number }
  | { id: number; type: 'score'; scores: PoolScores; numTensors: number }
  | { id: number; type: 'error'; cancelled: boolean; message: string };

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
  }
}

/** Lets the caller stop a running round between epochs or scoring chunks. */
export class CancelSignal {
  readonly flag = new Int32Array(new SharedArrayBuffer(4));
  cancel(): void {
    Atomics.store(this.flag, 0, 1);
  }
}

export interface RunOptions {
  onProgress?: (progress: RoundProgress) => void;
  signal?: CancelSignal;
}

interface Pending {
  resolve: (reply: WorkerReply) => void;
  reject: (error: Error) => void;
  onProgress?: (progress: RoundProgress) => void;
}

export class RoundWorker {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  /** Tensors alive in the worker after its last round (should stay flat across rounds). */
  lastNumTensors: number | null = null;

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./round-worker.mjs', import.meta.url), {
      // The server caps its own heap; a pool of 100k hashed texts needs more than that.
      resourceLimits: { maxOldGenerationSizeMb: 2048 },
    });
    worker.on('message', (reply: WorkerReply) => {
      const pending = this.pending.get(reply.id);
      if (!pending) return;
      if (reply.type === 'progress') {
        pending.onProgress?.(reply.progress);
        return;
      }
      this.pending.delete(reply.id);
      // An idle worker must not keep the process alive; a busy one must.
      if (this.pending.size === 0) worker.unref();
      if (reply.type === 'error') pending.reject(reply.cancelled ? new CancelledError() : new Error(reply.message));
      else pending.resolve(reply);
    });
    const fail = (error: Error) => {
      this.worker = undefined;
      for (const pending of this.pending.values()) pending.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`round worker exited with code ${code}`)));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private call<T extends WorkerReply['type']>(
    message: DistributiveOmit<WorkerRequest, 'id'>,
    onProgress?: (progress: RoundProgress) => void,
  ): Promise<Extract<WorkerReply, { type: T }>> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (reply: WorkerReply) => void, reject, onProgress });
      worker.ref();
      worker.postMessage({ ...message, id });
    });
  }

  /**
   * Makes sure the worker has hashed every listed item of the project; `loadTexts` is called
   * with the ids it lacks (in chunks) and answers their texts in the same order.
   */
  async ensureTexts(projectId: number, itemIds: number[], loadTexts: (ids: number[]) => Promise<Array<string | null>>): Promise<number> {
    const { itemIds: missing } = await this.call<'missing-texts'>({ type: 'missing-texts', projectId, itemIds });
    for (let start = 0; start < missing.length; start += 20_000) {
      const ids = missing.slice(start, start + 20_000);
      await this.call<'done'>({ type: 'add-texts', projectId, itemIds: ids, texts: await loadTexts(ids) });
    }
    return missing.length;
  }

  async forgetProject(projectId: number): Promise<void> {
    await this.call<'done'>({ type: 'forget-project', projectId });
  }

  async runRound(request: Omit<RoundRequest, 'inputs' | 'onProgress'> & { inputs: WorkerInputs }, options: RunOptions = {}): Promise<RoundResult> {
    const signal = options.signal ?? new CancelSignal();
    const reply = await this.call<'round'>({ type: 'round', request: { ...request, cancel: signal.flag } }, options.onProgress);
    this.lastNumTensors = reply.numTensors;
    return reply.result;
  }

  async scorePool(request: Omit<ScorePoolRequest, 'inputs' | 'onProgress'> & { inputs: WorkerInputs }, options: RunOptions = {}): Promise<PoolScores> {
    const signal = options.signal ?? new CancelSignal();
    const reply = await this.call<'score'>({ type: 'score', request: { ...request, cancel: signal.flag } }, options.onProgress);
    this.lastNumTensors = reply.numTensors;
    return reply.scores;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }
}
