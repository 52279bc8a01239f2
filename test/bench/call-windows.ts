/**
 * A measured run cut into windows of equal length (the last may be shorter): labels per second
 * and each call's p99 per window. A run whose throughput or latencies drift as it goes, for
 * example as PostgreSQL's buffers fill with written pages or the machine slows down, then shows
 * when, where its totals alone would not.
 */
import { percentile } from './annotator-load.js';

export interface CallWindow {
  labelsPerSecond: number;
  nextP99: number;
  submitP99: number;
}

export class CallWindows {
  private readonly windows: Array<{ next: number[]; submit: number[]; labels: number }>;

  /** The run began at `from` (epoch ms) and lasts `runMs`; each window lasts `windowMs`. */
  constructor(
    private readonly from: number,
    private readonly runMs: number,
    private readonly windowMs: number,
  ) {
    this.windows = Array.from({ length: Math.ceil(runMs / windowMs) }, () => ({ next: [], submit: [], labels: 0 }));
  }

  /**
   * One call, in the window in which it was sent; a submit answered 201 counts as a label. A call
   * sent before the run is left out; one that reads as sent at or after its end (the annotators'
   * clock and this one may differ by a millisecond) goes in the last window.
   */
  add(kind: 'next' | 'submit', startedAt: number, ms: number, status: number): void {
    if (startedAt < this.from) return;
    const window = this.windows[Math.min(this.windows.length - 1, Math.floor((startedAt - this.from) / this.windowMs))];
    if (kind === 'next') window.next.push(ms);
    else {
      window.submit.push(ms);
      if (status === 201) window.labels += 1;
    }
  }

  /** Every window of the run, in order. */
  summary(): CallWindow[] {
    return this.windows.map((window, i) => {
      const seconds = Math.min(this.windowMs, this.runMs - i * this.windowMs) / 1000;
      return {
        labelsPerSecond: window.labels / seconds,
        nextP99: percentile(window.next.sort((a, b) => a - b), 99),
        submitP99: percentile(window.submit.sort((a, b) => a - b), 99),
      };
    });
  }
}
