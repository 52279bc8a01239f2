/**
 * In-process publish/subscribe of project events (round progress, metrics, queue refreshes) for
 * the server-sent events route. Listeners run synchronously and must not throw.
 */
export type ProjectEvent =
  | {
      type: 'round';
      roundId: number;
      jobId?: number;
      kind: 'round' | 'score';
      status: string;
      phase: string | null;
      progress: number;
      etaSeconds: number | null;
      epoch?: { epoch: number; epochs: number; trainLoss: number; validationLoss: number | null };
    }
  | { type: 'metrics'; roundId: number; metrics: unknown; promoted: boolean }
  | { type: 'queue'; roundId: number; scored: number; complete: boolean };

type Listener = (event: ProjectEvent) => void;

export class EventBus {
  private readonly listeners = new Map<number, Set<Listener>>();
  private readonly labelListeners = new Set<(count: number) => void>();
  private readonly jobListeners = new Set<() => void>();

  publish(projectId: number, event: ProjectEvent): void {
    for (const listener of this.listeners.get(projectId) ?? []) listener(event);
  }

  /** Answers the function that unsubscribes. */
  subscribe(projectId: number, listener: Listener): () => void {
    let set = this.listeners.get(projectId);
    if (!set) this.listeners.set(projectId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(projectId);
    };
  }

  /** Labels were committed (in any project): the automatic retraining loop may be due. */
  labelsStored(count: number): void {
    for (const listener of this.labelListeners) listener(count);
  }

  onLabelsStored(listener: (count: number) => void): () => void {
    this.labelListeners.add(listener);
    return () => this.labelListeners.delete(listener);
  }

  /** A job (a round, a scoring run) was committed to the queue: a job runner may start it now. */
  jobQueued(): void {
    for (const listener of this.jobListeners) listener();
  }

  onJobQueued(listener: () => void): () => void {
    this.jobListeners.add(listener);
    return () => this.jobListeners.delete(listener);
  }
}
