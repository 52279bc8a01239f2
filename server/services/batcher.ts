/**
 * Runs calls in batches (group commit): a call starts a batch at once while fewer than
 * `maxInFlight` batches run, so a quiet server adds no delay; calls that arrive while the
 * database is busy wait and go together in the next batch, one round trip and one commit for all.
 * A batch that fails is retried one call at a time, so a bad input fails only its own call.
 *
 * One batch at a time by default: under load the batches then grow about twice as large and no
 * longer compete with each other for the cores, and more calls were answered, sooner, than with
 * two batches at a time.
 */
export class Batcher<In, Out> {
  private waiting: Array<{ input: In; resolve: (out: Out) => void; reject: (error: unknown) => void }> = [];
  private inFlight = 0;

  constructor(
    /** Answers one output per input, in order. */
    private readonly run: (inputs: In[]) => Promise<Out[]>,
    private readonly maxInFlight = 1,
    private readonly maxBatch = 64,
  ) {}

  call(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.maxBatch);
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
}
