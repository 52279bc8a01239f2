/**
 * What a project lead watches: accuracy against labels round by round, the labeling pace, the
 * queue's make-up, and a plain-language signal for when more labels stop helping.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { annotatorStats, labelsPerHour, queueComposition } from '../repositories/dashboard.repository.js';
import type { ProjectService } from './project.service.js';
import type { Round, RoundService } from './round.service.js';

export interface CurvePoint {
  roundId: number;
  number: number;
  trainLabels: number;
  holdoutLabels: number;
  accuracy: number;
  accuracyCi: [number, number] | null;
  macroF1: number;
  macroF1Ci: [number, number] | null;
  promoted: boolean;
}

export interface StopSignal {
  /** 'collecting': too few rounds or holdout labels to judge; 'improving'; 'plateau'. */
  state: 'collecting' | 'improving' | 'plateau';
  message: string;
}

/** Rounds looked back over; holdout labels needed before the signal speaks. */
const STOP_WINDOW = 3;
const STOP_MIN_HOLDOUT = 30;

/**
 * Compares the newest round with the best of the rounds at least STOP_WINDOW rounds older: when
 * the gain is inside the newest round's confidence interval, recent labels are not measurably
 * helping.
 */
export function stopSignal(curve: readonly CurvePoint[]): StopSignal {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const latest = curve.at(-1);
  if (!latest || curve.length <= STOP_WINDOW) {
    return { state: 'collecting', message: `Keep labeling: the signal needs more than ${STOP_WINDOW} evaluated rounds (now ${curve.length}).` };
  }
  if (latest.holdoutLabels < STOP_MIN_HOLDOUT || !latest.accuracyCi) {
    return {
      state: 'collecting',
      message: `Keep labeling: only ${latest.holdoutLabels} holdout labels so far; at least ${STOP_MIN_HOLDOUT} are needed to tell real gains from noise.`,
    };
  }
  const earlier = curve.slice(0, -STOP_WINDOW);
  const reference = earlier.reduce((best, p) => (p.accuracy > best.accuracy ? p : best));
  const gain = latest.accuracy - reference.accuracy;
  const halfWidth = (latest.accuracyCi[1] - latest.accuracyCi[0]) / 2;
  const added = latest.trainLabels - reference.trainLabels;
  if (gain > halfWidth) {
    return {
      state: 'improving',
      message: `Still improving: accuracy rose ${pct(gain)} over the last ${added} labels, more than the ±${pct(halfWidth)} uncertainty.`,
    };
  }
  return {
    state: 'plateau',
    message:
      `More labels have stopped helping measurably: the last ${added} labels moved accuracy by ${pct(gain)} ` +
      `(from ${pct(reference.accuracy)} at round ${reference.number} to ${pct(latest.accuracy)}), within the ±${pct(halfWidth)} uncertainty. ` +
      'Consider stopping, changing the model, or revisiting the labels the model confuses most.',
  };
}

export class DashboardService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly projects: ProjectService,
    private readonly rounds: RoundService,
  ) {}

  async get(projectId: number, hours = 48) {
    await this.projects.require(projectId);
    const [rounds, perHour, annotators, queue] = await Promise.all([
      this.rounds.list(projectId),
      labelsPerHour(this.db, projectId, hours),
      annotatorStats(this.db, projectId),
      queueComposition(this.db, projectId),
    ]);
    const curve = rounds.flatMap(toCurvePoint);
    return { curve, stop: stopSignal(curve), labelsPerHour: perHour, annotators, queue };
  }
}

function toCurvePoint(round: Round): CurvePoint[] {
  const metrics = round.metrics as { accuracy: number; accuracyCi: [number, number] | null; macroF1: number; macroF1Ci: [number, number] | null } | null;
  if (round.status !== 'succeeded' || !metrics) return [];
  return [
    {
      roundId: round.id,
      number: round.number,
      trainLabels: round.trainLabels,
      holdoutLabels: round.holdoutLabels,
      accuracy: metrics.accuracy,
      accuracyCi: metrics.accuracyCi,
      macroF1: metrics.macroF1,
      macroF1Ci: metrics.macroF1Ci,
      promoted: round.promoted,
    },
  ];
}
