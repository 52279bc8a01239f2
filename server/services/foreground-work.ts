/**
 * Requests this server is answering right now, and whether it is busy (any at all). Background
 * work that competes with them for the cores waits for idle moments: the ML process pauses
 * while the server is busy, and score chunks wait for a moment without requests.
 */
type Listener = (busy: boolean) => void;

export class ForegroundWork {
  private inProgress = 0;
  private readonly listeners = new Set<Listener>();

  get busy(): boolean {
    return this.inProgress > 0;
  }

  /** Marks one request as started; call the answered function once it has been answered. */
  begin(): () => void {
    if (this.inProgress++ === 0) this.notify(true);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.inProgress === 0) this.notify(false);
    };
  }

  /** Resolves once no request is in progress, or after `maxWaitMs` at the latest. */
  whenIdle(maxWaitMs: number): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        off();
        resolve();
      };
      const timer = setTimeout(done, maxWaitMs);
      const off = this.onChange((busy) => busy || done());
    });
  }

  /** Called on every change between idle and busy; answers the function that unsubscribes. */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(busy: boolean): void {
    for (const listener of this.listeners) listener(busy);
  }
}
