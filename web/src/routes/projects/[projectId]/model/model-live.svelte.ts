/**
 * The Model page's live copy of the dashboard and the rounds. Round progress events update a
 * round in place (and grow its epoch-loss series); anything that changes what the server would
 * answer — a round's status, new metrics, a promotion, a queue refresh, a reconnection — reloads
 * both, coalesced so a burst of events costs one pair of requests.
 */
import {
  ApiError,
  type Dashboard,
  type EpochLogEntry,
  type EventStreamState,
  getDashboard,
  isEpochEntry,
  listRounds,
  type ProjectEvent,
  type Round,
  watchProjectEvents,
} from '$lib/api/client';

const REFRESH_DELAY_MS = 150;

export class ModelLive {
  dashboard = $state<Dashboard>() as Dashboard;
  rounds = $state<Round[]>([]);
  /** Epochs reported live, by round id, before the round's stored log has them. */
  liveEpochs = $state<Record<number, EpochLogEntry[]>>({});
  connection = $state<EventStreamState>('connecting');
  refreshError = $state<string | null>(null);
  hours = $state(48);

  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly projectId: number,
    initial: { dashboard: Dashboard; rounds: Round[] },
  ) {
    this.dashboard = initial.dashboard;
    this.rounds = initial.rounds;
  }

  /** Follows the event stream; the returned function closes it. */
  start(): () => void {
    this.stopped = false;
    const stop = watchProjectEvents(
      this.projectId,
      (event) => this.onEvent(event),
      (state) => (this.connection = state),
    );
    return () => {
      this.stopped = true;
      clearTimeout(this.timer);
      this.timer = undefined;
      stop();
    };
  }

  /** Stored and live epochs of a round, one entry per epoch. */
  epochsOf(round: Round): EpochLogEntry[] {
    const byEpoch = new Map<number, EpochLogEntry>();
    for (const entry of round.log) if (isEpochEntry(entry)) byEpoch.set(entry.epoch, entry);
    for (const entry of this.liveEpochs[round.id] ?? []) byEpoch.set(entry.epoch, entry);
    return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
  }

  scheduleRefresh(delay = REFRESH_DELAY_MS): void {
    if (this.timer !== undefined || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, delay);
  }

  async refresh(): Promise<void> {
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = true;
    try {
      const [dashboard, rounds] = await Promise.all([getDashboard(this.projectId, this.hours), listRounds(this.projectId)]);
      if (this.stopped) return;
      this.dashboard = dashboard;
      this.rounds = rounds;
      this.refreshError = null;
    } catch (error) {
      this.refreshError = error instanceof ApiError ? error.message : String(error);
    } finally {
      this.inFlight = false;
      if (this.again) {
        this.again = false;
        this.scheduleRefresh();
      }
    }
  }

  private onEvent(event: ProjectEvent): void {
    switch (event.type) {
      case 'ready':
        // Also after a reconnection: whatever happened meanwhile was not streamed.
        this.scheduleRefresh(0);
        return;
      case 'metrics':
      case 'queue':
        this.scheduleRefresh();
        return;
      case 'round': {
        if (event.kind === 'score') {
          // A scoring run changes the queue, not the round; its end is worth a reload.
          if (event.status !== 'running') this.scheduleRefresh();
          return;
        }
        const round = this.rounds.find((r) => r.id === event.roundId);
        if (!round || round.status !== event.status) this.scheduleRefresh();
        // A finished round is shown when the reload brings its metrics with it, not before.
        if (!round || (event.status !== 'queued' && event.status !== 'running')) return;
        round.status = event.status;
        round.phase = event.phase;
        round.progress = event.progress;
        round.etaSeconds = event.etaSeconds;
        if (event.epoch) {
          const { epoch, trainLoss, validationLoss } = event.epoch;
          (this.liveEpochs[round.id] ??= []).push({ epoch, trainLoss, validationLoss });
        }
        return;
      }
      default: {
        const unknown: never = event;
        void unknown;
      }
    }
  }
}
