/**
 * The items leased to this annotator and not yet decided, in the order they will be shown. A
 * buffer of a few leased items, pictures included, is kept ahead of the annotator so the next one
 * appears the instant a decision is made; the leases are renewed while the page is open and
 * handed back when it closes.
 */
import { ApiError, nextQueueItems, releaseLease, renewLeases, type QueueItem } from '$lib/api/client';

const BUFFER_TARGET = 5;
const REFILL_BELOW = 3;
const MAX_BATCH = 50;
/** How long an empty answer is trusted before the queue is asked again. */
const EXHAUSTED_RECHECK_MS = 15_000;

export class ItemQueue {
  items = $state<QueueItem[]>([]);
  /** True until the first answer arrives. */
  starting = $state(true);
  /** The server's last answer held nothing new. */
  exhausted = $state(false);
  failure = $state<string | null>(null);
  /** A request for more items is on its way. */
  loading = $state(false);

  readonly #projectId: number;
  readonly #annotator: string;
  /** Items whose lease the server may still report as ours although they are decided. */
  readonly #isDecided: (itemId: number) => boolean;
  readonly #pendingCount: () => number;
  /**
   * The pictures of buffered items, fetched as the items arrive so that each shows at once; held
   * here until the item leaves the buffer so the browser keeps them.
   */
  readonly #images = new Map<number, HTMLImageElement>();
  #exhaustedAt = 0;

  constructor(options: {
    projectId: number;
    annotator: string;
    isDecided: (itemId: number) => boolean;
    pendingCount: () => number;
  }) {
    this.#projectId = options.projectId;
    this.#annotator = options.annotator;
    this.#isDecided = options.isDecided;
    this.#pendingCount = options.pendingCount;
  }

  get current(): QueueItem | null {
    return this.items[0] ?? null;
  }

  /** Removes a decided item from the buffer and tops the buffer up when it runs low. */
  take(itemId: number) {
    this.items = this.items.filter((item) => item.id !== itemId);
    this.#images.delete(itemId);
    void this.fill();
  }

  async fill(options: { force?: boolean } = {}) {
    if (this.loading) return;
    if (!options.force && this.items.length >= REFILL_BELOW && !this.starting) return;
    if (
      !options.force &&
      this.exhausted &&
      Date.now() - this.#exhaustedAt < EXHAUSTED_RECHECK_MS
    ) {
      return;
    }
    this.loading = true;
    try {
      // Items already leased to us come back first, including decided ones whose decision is
      // still on its way; ask for enough to get past them to fresh items.
      const n = Math.min(MAX_BATCH, this.items.length + this.#pendingCount() + BUFFER_TARGET);
      const answer = await nextQueueItems(this.#projectId, this.#annotator, n);
      const held = new Set(this.items.map((item) => item.id));
      const fresh = answer.filter((item) => !held.has(item.id) && !this.#isDecided(item.id));
      this.items = [...this.items, ...fresh];
      this.#fetchImages(fresh);
      this.exhausted = fresh.length === 0;
      if (this.exhausted) this.#exhaustedAt = Date.now();
      this.failure = null;
    } catch (error) {
      this.failure =
        error instanceof ApiError ? error.message : 'The next items could not be loaded.';
    } finally {
      this.loading = false;
      this.starting = false;
    }
    // A batch that only refreshed held leases may still leave the buffer short.
    if (!this.exhausted && !this.failure && this.items.length < REFILL_BELOW) void this.fill();
  }

  #fetchImages(items: QueueItem[]) {
    for (const item of items) {
      // An inline (data:) picture is in the answer already.
      if (!item.image || item.image.startsWith('data:')) continue;
      const image = new Image();
      image.decoding = 'async';
      image.src = item.image;
      this.#images.set(item.id, image);
    }
  }

  async renew() {
    if (this.items.length === 0) return;
    try {
      await renewLeases(this.#projectId, this.#annotator);
    } catch {
      // The next renewal or the next queue request leases again; nothing to tell the annotator.
    }
  }

  /**
   * Hands every held, undecided item back to the queue. `keepalive` lets the requests finish
   * while the page unloads.
   */
  releaseAll(options: { keepalive?: boolean } = {}) {
    const items = this.items;
    this.items = [];
    this.#images.clear();
    this.starting = true;
    for (const item of items) {
      releaseLease(item.id, this.#annotator, options).catch(() => undefined);
    }
  }
}
