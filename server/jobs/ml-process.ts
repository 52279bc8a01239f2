/**
 * Runs rounds and scoring runs in one long-lived child process at the lowest CPU priority, so
 * training and scoring never hold the caller's event loop and yield the cores to requests
 * annotators are waiting on; while the server answers requests the child is paused outright
 * (see yieldTo). A process rather than a worker thread because every thread of a process started
 * under `nice` is niced, the garbage collector's helper threads included (a worker thread shares
 * the parent's, which run at normal priority). Texts are sent once per process: `ensureTexts`
 * asks which items the child has not hashed yet and sends only those. The child also keeps the
 * last rounds' models, so a round's incumbent (megabytes) rarely crosses over, and a new model's
 * weights cross in parts, as the host saves them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ItemInput, PoolScores, RoundProgress, RoundRequest, RoundResult, ScorePoolRequest, SerializedModel } from '../../ml/index.js';
import type { ForegroundWork } from '../services/foreground-work.js';

/**
 * Featurizer inputs: texts already in the worker's cache (by item id), or the values themselves.
 * Item ids travel as an Int32Array: copied in one piece, where a number array is serialised value by value.
 */
export type WorkerInputs = { kind: 'cached-text'; projectId: number; itemIds: Int32Array } | { kind: 'values'; values: ItemInput[] };

type WithInputs<T> = Omit<T, 'inputs' | 'onProgress'> & { inputs: WorkerInputs };

/**
 * A round's model as the child receives it: by round id alone when the child kept it (its last
 * few rounds' models), with the artifact (megabytes) only when it did not.
 */
export interface ModelRef {
  roundId: number;
  model?: SerializedModel;
}

/** Where the host finds a round's model, should the child not have kept it. */
export interface ModelSource {
  roundId: number;
  load: () => Promise<SerializedModel>;
}

/** A round as the host asks for it: the incumbent by reference; `roundId` names the new model for later rounds. */
export type WorkerRoundRequest = Omit<WithInputs<RoundRequest>, 'incumbent'> & { roundId: number; incumbent?: ModelRef };
export type WorkerScoreRequest = Omit<WithInputs<ScorePoolRequest>, 'model'> & { model: ModelRef };

/**
 * A round's result as the host receives it: the new model's weights (megabytes) stay in the child,
 * which keeps the model, until the host reads them in parts (readWeights).
 */
export type WorkerRoundResult = Omit<RoundResult, 'model'> & { model: { json: string; weightBytes: number } };

/** Messages between the host and the child; typed arrays survive the channel (advanced serialization). */
export type WorkerRequest =
  | { id: number; type: 'missing-texts'; projectId: number; itemIds: Int32Array }
  | { id: number; type: 'add-texts'; projectId: number; itemIds: number[]; texts: Array<string | null> }
  | { id: number; type: 'round'; request: WorkerRoundRequest }
  | { id: number; type: 'score'; request: WorkerScoreRequest }
  | { id: number; type: 'weights'; roundId: number; from: number; to: number };

export type WorkerReply =
  | { id: number; type: 'progress'; progress: RoundProgress }
  | { id: number; type: 'missing-texts'; itemIds: Int32Array }
  | { id: number; type: 'missing-model'; roundId: number }
  | { id: number; type: 'done' }
  | { id: number; type: 'round'; result: WorkerRoundResult; numTensors: number }
  | { id: number; type: 'weights'; bytes: Uint8Array }
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
/** Stopping and continuing a process by signal (SIGSTOP/SIGCONT) is POSIX; elsewhere the child is never paused. */
const canPause = process.platform !== 'win32';
/**
 * A paused child runs again for RUN_MS after MAX_PAUSE_MS of pause even while requests keep
 * coming, so that a server that is never idle still finishes its rounds (with at least a
 * quarter of a core).
 */
const MAX_PAUSE_MS = 150;
const RUN_MS = 50;

export class RoundWorker {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  /** Tensors alive in the child after its last round (should stay flat across rounds). */
  lastNumTensors: number | null = null;

  private foreground: ForegroundWork | undefined;
  private paused = false;
  private pauseTimer: NodeJS.Timeout | undefined;
  private resumeSoon: NodeJS.Immediate | undefined;
  /** Until then the child runs whatever the foreground does (see MAX_PAUSE_MS). */
  private runUntil = 0;

  /**
   * Pauses the child's work while `foreground` is busy and continues it once idle: requests get
   * the cores first, and the caches and memory bandwidth too, which a lower priority alone does
   * not give back (a training step slows a request on the other core down by half).
   */
  yieldTo(foreground: ForegroundWork): void {
    this.foreground = foreground;
    foreground.onChange((busy) => {
      if (busy) {
        clearImmediate(this.resumeSoon);
        this.resumeSoon = undefined;
        this.pause();
      } else {
        // Not before the events already waiting ran: under load the next request is often among them.
        this.resumeSoon ??= setImmediate(() => {
          this.resumeSoon = undefined;
          this.resume();
        });
      }
    });
  }

  /** Whether the child is stopped right now (it answers nothing until continued). */
  get isPaused(): boolean {
    return this.paused;
  }

  private pause(): void {
    const child = this.child;
    if (!canPause || !child || this.paused || this.pending.size === 0 || performance.now() < this.runUntil) return;
    if (!child.kill('SIGSTOP')) return;
    this.paused = true;
    this.pauseTimer = setTimeout(() => {
      this.resume();
      this.runUntil = performance.now() + RUN_MS;
      setTimeout(() => this.foreground?.busy && this.pause(), RUN_MS).unref();
    }, MAX_PAUSE_MS).unref();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    clearTimeout(this.pauseTimer);
    this.child?.kill('SIGCONT');
  }

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
    this.resume();
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
      if (this.foreground?.busy) this.pause();
    });
  }

  /**
   * Makes sure the child has hashed every listed item of the project; `loadTexts` is called
   * with the ids it lacks (in chunks) and answers their texts in the same order.
   */
  async ensureTexts(projectId: number, itemIds: Int32Array, loadTexts: (ids: number[]) => Promise<Array<string | null>>): Promise<number> {
    const { itemIds: missing } = await this.call<'missing-texts'>({ type: 'missing-texts', projectId, itemIds });
    for (let start = 0; start < missing.length; start += 20_000) {
      const ids = Array.from(missing.subarray(start, start + 20_000));
      await this.call<'done'>({ type: 'add-texts', projectId, itemIds: ids, texts: await loadTexts(ids) });
    }
    return missing.length;
  }

  /**
   * Trains and scores a round against `incumbent` (loaded only if the child has not kept it);
   * the child keeps the new model under `roundId` for the rounds after it.
   */
  async runRound(request: Omit<WorkerRoundRequest, 'incumbent'> & { incumbent?: ModelSource }, options: RunOptions = {}): Promise<WorkerRoundResult> {
    const { incumbent, ...rest } = request;
    const reply = await this.callWithModel<'round'>(incumbent, (ref) => ({ type: 'round', request: { ...rest, incumbent: ref } }), options);
    this.lastNumTensors = reply.numTensors;
    return reply.result;
  }

  /** Bytes `from` to `to` of the weights of a model the child trained and kept (see WorkerRoundResult). */
  async readWeights(roundId: number, from: number, to: number): Promise<Uint8Array> {
    const reply = await this.call<'weights' | 'missing-model'>({ type: 'weights', roundId, from, to });
    if (reply.type === 'missing-model') throw new Error(`the ML process no longer has the model of round ${roundId}`);
    return reply.bytes;
  }

  /** Scores the pool with the model of round `model.roundId` (loaded only if the child has not kept it). */
  async scorePool(request: Omit<WorkerScoreRequest, 'model'> & { model: ModelSource }, options: RunOptions = {}): Promise<PoolScores> {
    const { model, ...rest } = request;
    const reply = await this.callWithModel<'score'>(model, (ref) => ({ type: 'score', request: { ...rest, model: ref! } }), options);
    this.lastNumTensors = reply.numTensors;
    return reply.scores;
  }

  /** Asks with the model by reference; asks again with the model itself if the child has not kept it. */
  private async callWithModel<T extends 'round' | 'score'>(
    source: ModelSource | undefined,
    message: (ref: ModelRef | undefined) => Request,
    options: RunOptions,
  ): Promise<Extract<WorkerReply, { type: T }>> {
    let reply: WorkerReply = await this.call<T | 'missing-model'>(message(source && { roundId: source.roundId }), options);
    if (reply.type === 'missing-model' && source) {
      reply = await this.call<T | 'missing-model'>(message({ roundId: source.roundId, model: await source.load() }), options);
    }
    if (reply.type === 'missing-model') throw new Error(`the ML process lacks the model of round ${reply.roundId}`);
    return reply as Extract<WorkerReply, { type: T }>;
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.stop(child, new Error('ML process closed'));
    await exited;
  }
}
