/**
 * Decisions leave the labeling page through this outbox so the annotator never waits on the
 * network. Each decision is stored in localStorage before it is sent and removed only once the
 * server has answered, so a refresh or a closed tab replays it on the next visit. Sends happen one
 * at a time in decision order (a re-decision must land after the decision it corrects); network
 * failures and 5xx answers are retried with exponential backoff under the decision's own
 * Idempotency-Key, which makes a retry of a request that did reach the server harmless.
 *
 * One outbox exists per project and annotator for the life of the tab, so decisions keep draining
 * after the annotator navigates to another page of the app. Tabs of the same project and
 * annotator share the stored list: each writes back what the others stored too, so a decision
 * made in one tab is never dropped by another (a tab that starts later sends them as well; the
 * Idempotency-Key makes the second send a replay).
 */
import {
  ApiError,
  NETWORK_ERROR,
  skipItem,
  submitAnnotation,
  type QueueItem,
  type SavedAnnotation,
} from '$lib/api/client';

export interface PendingDecision {
  /** Also the Idempotency-Key of the annotation request. */
  key: string;
  kind: 'label' | 'skip';
  itemId: number;
  label: string | null;
  durationMs: number | null;
  decidedAt: string;
  /** What was on screen, so the recent list can show (and reopen) it after a reload. */
  item: QueueItem;
}

export type Outcome =
  | { kind: 'saved'; annotation: SavedAnnotation | null }
  | { kind: 'conflict'; error: ApiError }
  | { kind: 'rejected'; error: ApiError };

type Listener = (decision: PendingDecision, outcome: Outcome) => void;

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;

function storageKeyFor(projectId: number, annotator: string): string {
  return `loopwise:pending:${projectId}:${encodeURIComponent(annotator)}`;
}

function isRetryable(error: unknown): boolean {
  if (!(error instanceof ApiError)) return true;
  return error.status === 0 || error.status >= 500 || error.status === 408 || error.status === 429;
}

function readStored(storageKey: string): PendingDecision[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(storageKey) ?? '[]');
    return Array.isArray(parsed) ? (parsed as PendingDecision[]) : [];
  } catch {
    return [];
  }
}

/** crypto.randomUUID exists only in secure contexts; a LAN deployment over plain http has none. */
export function newDecisionKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class DecisionOutbox {
  pending = $state<PendingDecision[]>([]);
  /** The last attempt could not reach the server. */
  offline = $state(false);
  /** The server could not store a decision for a while (5xx); still retrying. */
  failing = $state(false);
  /** Set when the browser refuses to store decisions (private mode, full quota). */
  storageError = $state(false);

  readonly #storageKey: string;
  readonly #annotator: string;
  readonly #listeners = new Set<Listener>();
  #sending = false;
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(projectId: number, annotator: string) {
    this.#storageKey = storageKeyFor(projectId, annotator);
    this.#annotator = annotator;
    this.pending = readStored(this.#storageKey);
    window.addEventListener('online', () => this.retryNow());
    window.addEventListener('storage', (event) => {
      // Another tab wrote the list (or cleared storage), perhaps from a copy older than ours.
      if (event.key === this.#storageKey || event.key === null) this.#restoreMissing();
    });
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  has(itemId: number): boolean {
    return this.pending.some((decision) => decision.itemId === itemId);
  }

  add(decision: PendingDecision) {
    this.pending.push(decision);
    this.#persist();
    void this.#drain();
  }

  /** Skips the backoff wait, e.g. when the browser reports it is online again. */
  retryNow() {
    if (this.#retryTimer === null) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    void this.#drain();
  }

  /** Starts sending whatever an earlier visit left behind. */
  resume() {
    if (this.#retryTimer === null) void this.#drain();
  }

  /**
   * Writes this tab's pending decisions into the stored list, keeping those other tabs stored and
   * dropping `settled`, which this tab has just had answered.
   */
  #persist(settled?: string) {
    try {
      const stored = readStored(this.#storageKey).filter((decision) => decision.key !== settled);
      const storedKeys = new Set(stored.map((decision) => decision.key));
      const mine = $state.snapshot(this.pending) as PendingDecision[];
      const merged = [...stored, ...mine.filter((decision) => !storedKeys.has(decision.key))];
      if (merged.length === 0) localStorage.removeItem(this.#storageKey);
      else localStorage.setItem(this.#storageKey, JSON.stringify(merged));
      this.storageError = false;
    } catch {
      this.storageError = true;
    }
  }

  #restoreMissing() {
    const storedKeys = new Set(readStored(this.#storageKey).map((decision) => decision.key));
    if (this.pending.some((decision) => !storedKeys.has(decision.key))) this.#persist();
  }

  async #drain() {
    if (this.#sending || this.#retryTimer !== null) return;
    this.#sending = true;
    try {
      while (this.pending.length > 0) {
        const decision = $state.snapshot(this.pending[0]) as PendingDecision;
        let outcome: Outcome;
        try {
          outcome = { kind: 'saved', annotation: await this.#send(decision) };
        } catch (error) {
          if (isRetryable(error)) {
            this.offline = error instanceof ApiError && error.code === NETWORK_ERROR;
            this.failing = !this.offline;
            this.#scheduleRetry();
            return;
          }
          const apiError = error as ApiError;
          outcome =
            apiError.status === 409
              ? { kind: 'conflict', error: apiError }
              : { kind: 'rejected', error: apiError };
        }
        this.#attempt = 0;
        this.offline = false;
        this.failing = false;
        this.pending = this.pending.filter((entry) => entry.key !== decision.key);
        this.#persist(decision.key);
        for (const listener of this.#listeners) listener(decision, outcome);
      }
    } finally {
      this.#sending = false;
    }
  }

  async #send(decision: PendingDecision): Promise<SavedAnnotation | null> {
    if (decision.kind === 'skip') {
      await skipItem(decision.itemId, this.#annotator);
      return null;
    }
    return submitAnnotation(
      decision.itemId,
      {
        label: decision.label ?? '',
        annotator: this.#annotator,
        ...(decision.durationMs === null ? {} : { durationMs: decision.durationMs }),
      },
      decision.key,
    );
  }

  #scheduleRetry() {
    const ceiling = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.#attempt);
    this.#attempt += 1;
    // Jitter keeps a room of annotators from retrying in lockstep after an outage.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      void this.#drain();
    }, delay);
  }
}

const outboxes = new Map<string, DecisionOutbox>();

export function outboxFor(projectId: number, annotator: string): DecisionOutbox {
  const key = storageKeyFor(projectId, annotator);
  let outbox = outboxes.get(key);
  if (!outbox) {
    outbox = new DecisionOutbox(projectId, annotator);
    outboxes.set(key, outbox);
  }
  return outbox;
}
