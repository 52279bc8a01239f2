/**
 * A map whose entries expire (never, with an infinite `ttlMs`), holding at most `maxEntries`:
 * setting a key makes it the newest, and the oldest go first.
 *
 * With a `spread`, each entry lives a random share of `ttlMs` between `1 - spread` and 1, so
 * entries set at the same moment (every annotator's first call after a start) do not all expire
 * at the same moment again and again, each time sending all their callers to the database at once.
 *
 * The oldest entry is found by one iterator kept over the map's insertion order, rather than by a
 * new iterator each time: a Map keeps the slots of deleted entries until it is rebuilt, and a new
 * iterator steps over all of them from the start. In a full map of 100,000 entries that made a
 * `set` cost 26–45 µs, where it now costs well under one.
 */
export class ExpiringMap<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number }>();
  /** Where the oldest entry is: every key it passed has been dropped, so it is never behind one kept. */
  private oldest = this.entries.keys();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly spread = 0,
  ) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt > Date.now()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  /** Remembers `value` for the map's time to live, or until `validUntil` if that comes first. */
  set(key: K, value: V, validUntil?: Date): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.nextOldest());
    const lifetime = this.ttlMs * (1 - this.spread * Math.random());
    const expiresAt = Math.min(Date.now() + lifetime, validUntil?.getTime() ?? Infinity);
    this.entries.set(key, { value, expiresAt });
  }

  clear(): void {
    this.entries.clear();
    this.oldest = this.entries.keys();
  }

  /** The oldest key; an iterator that has run to the end stays there, so a new one starts over. */
  private nextOldest(): K {
    let next = this.oldest.next();
    if (next.done) {
      this.oldest = this.entries.keys();
      next = this.oldest.next();
    }
    return next.value as K;
  }
}
