/**
 * Every label a simulated annotator submitted: the item, who held its lease from when to when,
 * the answer's status and the idempotency key, kept for the exactly-once and single-lease checks.
 *
 * One entry per label in growable typed arrays rather than an object (plus a key string and map
 * entries) per label. The load generator runs beside the server it measures, and while it collects
 * garbage it reads no answers, so its pauses count as the server's latency. With an object per
 * label it paused for more than 10 ms 13–20 times in 30 s (longest 25–34 ms); with this log, 4–6
 * times (longest 13–18 ms), and half as long in all (three alternated 30 s runs of the annotate
 * benchmark's load).
 */
const KEY_BYTES = 36; // a UUID in its text form

export class DecisionLog {
  private size = 0;
  private itemIds = new Int32Array(1 << 14);
  private annotators = new Uint16Array(1 << 14);
  private leasedAt = new Float64Array(1 << 14);
  private answeredAt = new Float64Array(1 << 14);
  private statuses = new Uint16Array(1 << 14);
  private keys = Buffer.alloc((1 << 14) * KEY_BYTES);

  get length(): number {
    return this.size;
  }

  /** Records one submit: `annotator` numbers the annotator, times are epoch ms. */
  add(itemId: number, annotator: number, leasedAt: number, answeredAt: number, status: number, key: string): void {
    if (this.size === this.itemIds.length) this.grow();
    const i = this.size++;
    this.itemIds[i] = itemId;
    this.annotators[i] = annotator;
    this.leasedAt[i] = leasedAt;
    this.answeredAt[i] = answeredAt;
    this.statuses[i] = status;
    this.keys.write(key, i * KEY_BYTES, KEY_BYTES, 'latin1');
  }

  /** The idempotency key of every label answered 201. */
  *acknowledgedKeys(): Generator<string> {
    for (let i = 0; i < this.size; i++) {
      if (this.statuses[i] === 201) yield this.keys.toString('latin1', i * KEY_BYTES, (i + 1) * KEY_BYTES);
    }
  }

  /** Pairs of submits in which two annotators held one item over overlapping intervals. */
  countDoubleLeases(): number {
    const byItem = Array.from({ length: this.size }, (_, i) => i).sort((i, j) => this.itemIds[i] - this.itemIds[j]);
    let doubleLeases = 0;
    for (let x = 0; x < byItem.length; x++) {
      const i = byItem[x];
      for (let y = x + 1; y < byItem.length && this.itemIds[byItem[y]] === this.itemIds[i]; y++) {
        const j = byItem[y];
        if (this.annotators[i] !== this.annotators[j] && this.leasedAt[i] < this.answeredAt[j] && this.leasedAt[j] < this.answeredAt[i]) doubleLeases += 1;
      }
    }
    return doubleLeases;
  }

  private grow(): void {
    const capacity = this.itemIds.length * 2;
    const grown = <T extends Int32Array | Uint16Array | Float64Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    this.itemIds = grown(this.itemIds, new Int32Array(capacity));
    this.annotators = grown(this.annotators, new Uint16Array(capacity));
    this.leasedAt = grown(this.leasedAt, new Float64Array(capacity));
    this.answeredAt = grown(this.answeredAt, new Float64Array(capacity));
    this.statuses = grown(this.statuses, new Uint16Array(capacity));
    const keys = Buffer.alloc(capacity * KEY_BYTES);
    this.keys.copy(keys);
    this.keys = keys;
  }
}
