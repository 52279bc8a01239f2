export interface BatcherOptions<In> {
  /**
   * Batches that may run at once (default 1). With more than one, the calls that arrive in one
   * turn of the event loop are gathered first and split evenly among the free batches, so that a
   * burst of calls goes out as several smaller batches side by side instead of one large one.
   */
  maxInFlight?: number;
  /** Calls in one batch at most (default 64). */
  maxBatch?: number;
  /** Calls with the same key go in the same batch, in the order they came (e.g. one annotator's). */
  keyOf?: (input: In) => unknown;
}

interface Waiting<In, Out> {
  input: In;
  resolve: (out: Out) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs calls in batches (group commit): a call starts a batch while fewer than `maxInFlight`
 * batches run (at once with one, at the end of the event loop's turn with more), so a quiet server
 * adds no delay; calls that arrive while the database is busy wait and go together in the next
 * batch, one round trip and one commit for all.
 * A batch that fails is retried one call at a time, so a bad input fails only its own call.
 *
 * One batch at a time by default: under load the batches then grow about twice as large and no
 * longer compete with each other for the cores, and more labels were answered, sooner, than with
 * two batches at a time. Queue picks run two at a time, with the calls of a burst split between
 * them (see QueueService).
 */
export class Batcher<In, Out> {
  private waiting: Array<Waiting<In, Out>> = [];
  private inFlight = 0;
  private gathering = false;
  private readonly maxInFlight: number;
  private readonly maxBatch: number;
  private readonly keyOf?: (input: In) => unknown;

  constructor(
    /** Answers one output per input, in order. */
    private readonly run: (inputs: In[]) => Promise<Out[]>,
    options: BatcherOptions<In> = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? 1;
    this.maxBatch = options.maxBatch ?? 64;
    this.keyOf = options.keyOf;
  }

  call(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      if (this.maxInFlight === 1) return this.pump();
      // The rest of this turn's calls join before the batches are cut.
      if (this.gathering) return;
      this.gathering = true;
      setImmediate(() => {
        this.gathering = false;
        this.pump();
      });
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.length > 0) {
      const batch = this.take(Math.ceil(this.waiting.length / (this.maxInFlight - this.inFlight)));
      this.inFlight += 1;
      const settled = () => {
        this.inFlight -= 1;
        this.pump();
      };
      this.run(batch.map((entry) => entry.input)).then(
        (outputs) => {
          // The next batch goes to the database before this one's callers are answered.
          settled();
          batch.forEach((entry, i) => entry.resolve(outputs[i]));
        },
        (error: unknown) => {
          if (batch.length === 1) {
            settled();
            return batch[0].reject(error);
          }
          void Promise.all(
            batch.map((entry) => this.run([entry.input]).then(([output]) => entry.resolve(output), entry.reject)),
          ).finally(settled);
        },
      );
    }
  }

  /** The next `size` waiting calls (at most `maxBatch`), with any later calls that share a key with them. */
  private take(size: number): Array<Waiting<In, Out>> {
    const batch = this.waiting.splice(0, Math.min(size, this.maxBatch));
    const keyOf = this.keyOf;
    if (keyOf && this.waiting.length > 0) {
      const keys = new Set(batch.map((entry) => keyOf(entry.input)));
      this.waiting = this.waiting.filter((entry) => !(keys.has(keyOf(entry.input)) && batch.push(entry)));
    }
    return batch;
  }
}
