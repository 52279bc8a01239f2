/**
 * Simulated annotators for benchmarks: each loops queue/next → submit against a running server,
 * recording latencies and, in a decision log when given one, each submit's lease and answer, so
 * that exactly-once and single-lease guarantees can be checked afterwards.
 */
import { randomUUID } from 'node:crypto';
import type { DecisionLog } from './decision-log.js';
import { HttpConnection } from './http-connection.js';

export interface LoadOptions {
  url: string;
  projectId: number;
  /** Each annotator's user name and API token: the server records labels under the token's user. */
  annotators: ReadonlyMap<string, string>;
  seconds: number;
  /** Items asked for per queue/next call. */
  batch: number;
  /** The label an annotator gives an item. */
  labelFor: (item: { id: number; externalId: string }) => string;
  /** Pause before each decision, as a person reading the item would (default 0: flat out). */
  thinkMs?: number;
  /**
   * Labels per second the annotators offer together (default: flat out, each call as soon as the
   * last is answered). Each annotator then sends its calls on a fixed schedule, and a call's
   * latency counts from its scheduled time: a call the annotator could not send on time because
   * the last answer was late waits in the latency, as it would for a person.
   */
  labelsPerSecond?: number;
  /** Where submits are recorded for the exactly-once and single-lease checks, e.g. one log for a warm-up and the run after it (none when omitted). */
  decisions?: DecisionLog;
  /** Called after every call with its kind, start (epoch ms), latency and HTTP status, e.g. to relate slow calls to what ran meanwhile. */
  onCall?: (kind: 'next' | 'submit', startedAt: number, ms: number, status: number) => void;
  /**
   * Seconds the annotators label before the measured `seconds`, without stopping in between: calls
   * sent meanwhile count in the answer's `warmup`. Stopping and starting the annotators again
   * would send all their calls at once, a burst that labeling never has.
   */
  warmupSeconds?: number;
  /** Called once, when the warm-up ends and the measured seconds begin. */
  onMeasuring?: () => void;
}

export interface LoadResult {
  elapsed: number;
  nextLatency: number[];
  submitLatency: number[];
  /** Labels answered 201. */
  acknowledged: number;
  conflicts: number;
  errors: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const formatLatency = (xs: number[]) =>
  `p50 ${percentile(xs, 50).toFixed(1)} ms, p95 ${percentile(xs, 95).toFixed(1)} ms, p99 ${percentile(xs, 99).toFixed(1)} ms`;

const emptyResult = (): LoadResult => ({ elapsed: 0, nextLatency: [], submitLatency: [], acknowledged: 0, conflicts: 0, errors: 0 });

/** Runs the annotators for `warmupSeconds`, then `seconds`; answers what each part measured. */
export async function runAnnotators(options: LoadOptions): Promise<LoadResult & { warmup: LoadResult }> {
  const [warmup, measured] = [emptyResult(), emptyResult()];
  const started = performance.now();
  const measuredFrom = started + (options.warmupSeconds ?? 0) * 1000;
  const deadline = measuredFrom + options.seconds * 1000;
  // A call counts in the part in which it was sent.
  const partOf = (sentAt: number) => (sentAt < measuredFrom ? warmup : measured);
  const measuring = new Promise<void>((resolve) =>
    setTimeout(() => {
      options.onMeasuring?.();
      resolve();
    }, measuredFrom - started),
  );
  const { hostname, port } = new URL(options.url);
  const connections: HttpConnection[] = [];
  const annotator = async (token: string, annotatorNumber: number) => {
    const auth = { Authorization: `Bearer ${token}` };
    // Each annotator has a connection of its own, kept open, as a browser tab would.
    const connection = new HttpConnection(hostname, Number(port));
    connections.push(connection);
    // People who read their items do not all start in the same millisecond.
    if (options.thinkMs) await new Promise((r) => setTimeout(r, Math.random() * options.thinkMs! * options.batch));
    const schedule = options.labelsPerSecond ? new CallSchedule(options.labelsPerSecond, options.annotators.size, options.batch) : null;
    const send = async (path: string, body: unknown, headers: Record<string, string>) => {
      const due = await schedule?.waitForNextCall();
      const answer = await connection.post(path, body, headers);
      return due === undefined ? answer : { ...answer, ms: performance.now() - due };
    };
    while (performance.now() < deadline) {
      const next = await send(`/api/projects/${options.projectId}/queue/next`, { n: options.batch }, auth);
      const result = partOf(performance.now() - next.ms);
      result.nextLatency.push(next.ms);
      options.onCall?.('next', Date.now() - next.ms, next.ms, next.status);
      if (next.status !== 200) {
        result.errors += 1;
        continue;
      }
      const leasedAt = Date.now();
      const items = (JSON.parse(next.body) as { items: unknown }).items as Array<{ id: number; externalId: string }>;
      if (items.length === 0) await new Promise((r) => setTimeout(r, 50));
      for (const item of items) {
        if (options.thinkMs) await new Promise((r) => setTimeout(r, options.thinkMs));
        const key = randomUUID();
        const submit = await send(
          `/api/items/${item.id}/annotations`,
          { label: options.labelFor(item), durationMs: 900 },
          { ...auth, 'Idempotency-Key': key },
        );
        const result = partOf(performance.now() - submit.ms);
        result.submitLatency.push(submit.ms);
        options.onCall?.('submit', Date.now() - submit.ms, submit.ms, submit.status);
        options.decisions?.add(item.id, annotatorNumber, leasedAt, Date.now(), submit.status, key);
        if (submit.status === 201) result.acknowledged += 1;
        else if (submit.status === 409) result.conflicts += 1;
        else result.errors += 1;
        if (performance.now() >= deadline) break;
      }
    }
  };

  await Promise.all([...options.annotators.values()].map(annotator));
  await measuring;
  const ended = performance.now();
  for (const connection of connections) connection.close();
  // Both parts are over by now: the annotators stop no sooner than the warm-up ends.
  warmup.elapsed = (measuredFrom - started) / 1000;
  measured.elapsed = (ended - measuredFrom) / 1000;
  for (const result of [warmup, measured]) {
    result.nextLatency.sort((a, b) => a - b);
    result.submitLatency.sort((a, b) => a - b);
  }
  return { ...measured, warmup };
}

/**
 * One annotator's calls at a fixed rate, starting at a random point of the first interval so
 * that annotators do not call in step: one queue/next per `batch` labels, each its own call.
 */
export class CallSchedule {
  private due: number;
  private readonly intervalMs: number;

  constructor(labelsPerSecond: number, annotators: number, batch: number) {
    const callsPerSecond = (labelsPerSecond / annotators) * (1 + 1 / batch);
    this.intervalMs = 1000 / callsPerSecond;
    this.due = performance.now() + Math.random() * this.intervalMs;
  }

  /** Waits until the next call is due, if it is not already; answers when it was due. */
  async waitForNextCall(): Promise<number> {
    const due = this.due;
    this.due += this.intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    return due;
  }
}
