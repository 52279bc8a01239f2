/**
 * Runs rounds and scoring runs in one long-lived child process at the lowest CPU priority, so
 * training and scoring never hold the caller's event loop and yield the cores to requests
 * annotators are waiting on. A process rather than a worker thread because every thread of a
 * process started under `nice` is niced, the garbage collector's helper threads included (a
 * worker thread shares the parent's, which run at normal priority). Texts are sent once per
 * process: `ensureTexts` asks which items the child has not hashed yet and sends only those.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ItemInput, PoolScores, RoundProgress, RoundRequest, RoundResult, ScorePoolRequest } from '../../ml/index.js';

/** Featurizer inputs: texts already in the worker's cache (by item id), or the values themselves. */
export type WorkerInputs = { kind: 'cached-text'; projectId: number; itemIds: number[] } | { kind: 'values'; values: ItemInput[] };

type WithInputs<T> = Omit<T, 'inputs' | 'onProgress'> & { inputs: WorkerInputs };

/** Messages between the host and the child; typed arrays survive the channel (advanced serialization). */
export type WorkerRequest =
  | { id: number; type: 'missing-texts'; projectId: number; itemIds: number[] }
  | { id: number; type: 'add-texts'; projectId: number; itemIds: number[]; texts: Array<string | null> }
  | { id: number; type: 'round'; request: WithInputs<RoundRequest> }
  | { id: number; type: 'score'; request: WithInputs<ScorePoolRequest> };

export type WorkerReply =
  | { id: number; type: 'progress'; progress: RoundProgress }
  | { id: number; type: 'missing-texts'; itemIds: number[] }
  | { id: number; type: 'done' }
  | { id: number; type: 'round'; result: RoundResult; numTensors: number }
  | { id: number; type: 'score'; scores: PoolScores; numTensors: number }
  | { id: number; type: 'error'; message: string };

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
  }
}

/** Lets the caller stop a running round (the child is stopped and restarted on next use). */
export class CancelSignal {
  private listeners: Array<() => void> = [];
  cancelled = false;

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    for (const listener of this.listeners.splice(0)) listener();
  }

  onCancel(listener: () => void): () => void {
    if (this.cancelled) listener();
    else this.listeners.push(listener);
    return () => (this.listeners = this.listeners.filter((l) => l !== listener));
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

/** Messages the host sends, before it numbers them. */
type Request = WorkerRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

const firstExisting = (paths: string[]) => paths.find((path) => existsSync(path));
/**
 * The lowest priority the system offers: the SCHED_IDLE policy where `chrt` exists (Linux: the
 * process runs only on otherwise idle cores and yields the moment anything else wants one),
 * plus `nice` (Linux, macOS).
 */
const chrtCommand = firstExisting(['/usr/bin/chrt', '/bin/chrt']);
const niceCommand = firstExisting(['/usr/bin/nice', '/bin/nice']);

export class RoundWorker {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  /** Tensors alive in the child after its last round (should stay flat across rounds). */
  lastNumTensors: number | null = null;

  private start(): ChildProcess {
    if (this.child) return this.child;
    const entry = fileURLToPath(new URL('./ml-process.child.ts', import.meta.url));
    // The server caps its own heap; a pool of 100k hashed texts needs more than that.
    const node = [process.execPath, '--max-old-space-size=2048', '--import', 'tsx', entry];
    const niced = niceCommand ? [niceCommand, '-n', '19', ...node] : node;
    const [command, ...args] = chrtCommand ? [chrtCommand, '--idle', '0', ...niced] : niced;
    // Its own session, so that on Linux it also gets its own scheduling group (autogroup), which
    // it then lowers too: nice alone only ranks it against this process's own threads.
    const child = spawn(command, args, {
      // From the package root, so that `--import tsx` resolves whatever the caller's directory.
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      detached: true,
    });
    child.on('message', (reply: WorkerReply) => {
      const pending = this.pending.get(reply.id);
      if (!pending) return;
      if (reply.type === 'progress') {
        pending.onProgress?.(reply.progress);
        return;
      }
      this.pending.delete(reply.id);
      // An idle child must not keep the process alive; a busy one must.
      if (this.pending.size === 0) this.release(child);
      if (reply.type === 'error') pending.reject(new Error(reply.message));
      else pending.resolve(reply);
    });
    child.on('error', (error) => this.stop(child, error));
    child.on('exit', (code, signal) => this.stop(child, new Error(`ML process exited (${signal ?? code})`)));
    this.release(child);
    this.child = child;
    return child;
  }

  private release(child: ChildProcess): void {
    child.unref();
    (child.channel as unknown as { unref?: () => void } | undefined)?.unref?.();
  }

  private hold(child: ChildProcess): void {
    child.ref();
    (child.channel as unknown as { ref?: () => void } | undefined)?.ref?.();
  }

  /** Forgets the child and fails whatever it was doing with `error`. */
  private stop(child: ChildProcess, error: Error): void {
    if (this.child !== child) return;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }

  private call<T extends WorkerReply['type']>(message: Request, options: RunOptions = {}): Promise<Extract<WorkerReply, { type: T }>> {
    if (options.signal?.cancelled) return Promise.reject(new CancelledError());
    const child = this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // The child is busy in synchronous code and reads no messages: a cancel stops it.
      const off = options.signal?.onCancel(() => this.stop(child, new CancelledError())) ?? (() => {});
      this.pending.set(id, {
        resolve: (reply) => (off(), resolve(reply as Extract<WorkerReply, { type: T }>)),
        reject: (error) => (off(), reject(error)),
        onProgress: options.onProgress,
      });
      this.hold(child);
      child.send({ ...message, id });
    });
  }

  /**
   * Makes sure the child has hashed every listed item of the project; `loadTexts` is called
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

  async runRound(request: Omit<RoundRequest, 'inputs' | 'onProgress'> & { inputs: WorkerInputs }, options: RunOptions = {}): Promise<RoundResult> {
    const reply = await this.call<'round'>({ type: 'round', request }, options);
    this.lastNumTensors = reply.numTensors;
    return reply.result;
  }

  async scorePool(request: Omit<ScorePoolRequest, 'inputs' | 'onProgress'> & { inputs: WorkerInputs }, options: RunOptions = {}): Promise<PoolScores> {
    const reply = await this.call<'score'>({ type: 'score', request }, options);
    this.lastNumTensors = reply.numTensors;
    return reply.scores;
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.stop(child, new Error('ML process closed'));
    await exited;
  }
}
