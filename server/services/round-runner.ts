/**
 * Executes claimed jobs: a training round (snapshot the labels, train and evaluate on the worker
 * thread, decide promotion, write the pool's scores) or a scoring run (score the pool with the
 * promoted model). All computation happens in the ML process (jobs/ml-process.ts); this side only reads and writes
 * the database and reports progress.
 */
import type { Kysely } from 'kysely';
import type { CancelSignal, RoundWorker, WorkerInputs } from '../jobs/ml-process.js';
import {
  type ItemInput,
  type PoolScores,
  type PromotionPolicy,
  type RoundProgress,
  type RoundResult,
  type SerializedModel,
  type Strategy,
} from '../../ml/index.js';
import type { Database, ItemKind } from '../db/schema.js';
import type { ImageFileRepository } from '../repositories/image-file.repository.js';
import type { JobRecord } from '../repositories/job.repository.js';
import { labeledWithin } from '../repositories/annotation.repository.js';
import { listLabels } from '../repositories/label.repository.js';
import {
  countLabels,
  itemContents,
  openPoolIds,
  writeScores,
} from '../repositories/pool.repository.js';
import { findProject, setPromotedRound, type ProjectRecord } from '../repositories/project.repository.js';
import {
  findArtifact,
  findRound,
  findSnapshot,
  markPromoted,
  saveOutcome,
  freezeSnapshot,
  deleteWeights,
  saveWeightsPart,
  saveTimings,
} from '../repositories/round.repository.js';
import { writeChunksInParallel } from './chunk-writers.js';
import type { EventBus } from './event-bus.js';
import type { ForegroundWork } from './foreground-work.js';

/**
 * Rows per scoring write: small enough that no row stays locked for long, and that a chunk
 * written between two requests is done before it slows many down (about 15 ms under load).
 */
const WRITE_CHUNK = 500;
/** Bytes of model weights per statement. */
const WEIGHTS_PART = 1 << 20;
/** Longest a write of round results (a score chunk, a part of the weights) waits for a moment without requests before it goes anyway. */
const WRITE_WAIT_MS = 150;
/**
 * Chunks written at once while nobody is labeling; the embedded database has one connection and
 * queues them anyway. While people label (a label stored in the last ACTIVE_SECONDS, on any
 * server sharing the database) one writer leaves the other core to them.
 */
const WRITERS = 2;
const ACTIVE_SECONDS = 2;
/** Share of a job's progress each phase stands for. */
const PHASE_SPAN: Record<string, [number, number]> = {
  loading: [0, 0.1],
  featurizing: [0.1, 0.15],
  training: [0.15, 0.55],
  evaluating: [0.55, 0.6],
  scoring: [0.6, 0.8],
  writing: [0.8, 1],
};

export interface JobControl {
  signal: CancelSignal;
  /** Records progress (throttled by the caller); `log` entries are appended to the job's log. */
  report: (update: { phase: string; progress: number; etaSeconds: number | null; log?: unknown[]; epoch?: RoundProgress['epoch'] }) => void;
}

interface Job {
  project: ProjectRecord;
  labelIds: number[];
  labelNames: string[];
  control: JobControl;
  started: number;
}

export class RoundRunner {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly worker: RoundWorker,
    private readonly images: ImageFileRepository,
    private readonly events: EventBus,
    private readonly foreground: ForegroundWork,
  ) {}

  async run(record: JobRecord, control: JobControl): Promise<void> {
    const project = await findProject(this.db, record.projectId);
    if (!project) throw new Error(`project ${record.projectId} no longer exists`);
    const labels = await listLabels(this.db, [project.id]);
    const job: Job = { project, labelIds: labels.map((l) => l.id), labelNames: labels.map((l) => l.name), control, started: performance.now() };
    if (record.kind === 'round') await this.trainRound(record, job);
    else await this.scoreWithPromoted(record, job);
  }

  /**
   * A round's model from the database: only when the ML process has not kept it (the process
   * keeps the last rounds' models, so this happens after it restarts).
   */
  private async modelOf(roundId: number): Promise<SerializedModel> {
    const artifact = await findArtifact(this.db, roundId);
    if (!artifact) throw new Error(`round ${roundId} has no model`);
    return artifact;
  }

  private progress(job: Job, phase: string, fraction: number, extra: { log?: unknown[]; epoch?: RoundProgress['epoch'] } = {}) {
    const [from, to] = PHASE_SPAN[phase] ?? [0, 1];
    const progress = from + (to - from) * Math.min(1, Math.max(0, fraction));
    const elapsed = (performance.now() - job.started) / 1000;
    const etaSeconds = progress > 0.05 ? (elapsed / progress) * (1 - progress) : null;
    job.control.report({ phase, progress, etaSeconds, ...extra });
  }

  private onWorkerProgress(job: Job) {
    let lastPhase = '';
    return (p: RoundProgress) => {
      const log: unknown[] = [];
      if (p.phase !== lastPhase) log.push({ at: new Date().toISOString(), phase: p.phase });
      if (p.epoch) log.push({ epoch: p.epoch.epoch, trainLoss: p.epoch.trainLoss, validationLoss: p.epoch.validationLoss });
      lastPhase = p.phase;
      this.progress(job, p.phase, p.fraction, { log, epoch: p.epoch });
    };
  }

  private async trainRound(record: JobRecord, job: Job): Promise<void> {
    const round = await findRound(this.db, record.roundId);
    if (!round) throw new Error(`round ${record.roundId} no longer exists`);
    this.progress(job, 'loading', 0, { log: [{ at: new Date().toISOString(), phase: 'loading', attempt: record.attempts }] });
    const loadStarted = performance.now();
    // A retried round keeps the labels it first froze, so it stays reproducible.
    await freezeSnapshot(this.db, round.id, round.projectId);
    const snapshot = (await findSnapshot(this.db, round.id))!;
    const pool = await openPoolIds(this.db, job.project.id);
    const incumbentId = job.project.promotedRoundId;
    // Inputs in the order train, holdout, pool: each list's rows are a run of positions.
    const inputs = await this.inputs(job, concatIds(snapshot.trainItemIds, snapshot.holdoutItemIds, pool));
    const trainCount = snapshot.trainItemIds.length;
    const holdoutCount = snapshot.holdoutItemIds.length;
    const loadMs = performance.now() - loadStarted;
    this.progress(job, 'loading', 1);

    const labelIndex = new Map(job.labelIds.map((id, i) => [id, i]));
    const result = await this.worker.runRound(
      {
        kind: job.project.kind,
        labels: job.labelNames,
        inputs,
        train: { rows: positions(0, trainCount), targets: snapshot.trainLabelIds.map((id) => labelIndex.get(id)!) },
        holdout: { rows: positions(trainCount, holdoutCount), targets: snapshot.holdoutLabelIds.map((id) => labelIndex.get(id)!) },
        pool: positions(trainCount + holdoutCount, pool.length),
        strategy: round.strategy as Strategy,
        model: round.model as 'softmax' | 'mlp',
        params: round.params,
        seed: round.seed,
        batch: queueBatch(job.project),
        roundId: round.id,
        incumbent: incumbentId === null ? undefined : { roundId: incumbentId, load: () => this.modelOf(incumbentId) },
        promotion: job.project.promotion as PromotionPolicy,
      },
      { signal: job.control.signal, onProgress: this.onWorkerProgress(job) },
    );

    // Tensors left in the worker after the round: flat from round to round, or something leaks.
    this.progress(job, 'evaluating', 1, { log: [{ at: new Date().toISOString(), workerTensors: this.worker.lastNumTensors }] });
    const metrics = result.metrics && toMetricsJson(result.metrics, job.labelNames);
    const timings = {
      loadMs,
      featurizeMs: result.timings.featurizeMs,
      trainMs: result.timings.trainMs,
      evaluateMs: result.timings.evaluateMs,
      scoreMs: result.timings.scoreMs,
    };
    await this.saveWeights(round.id, result.model.weightBytes);
    await saveOutcome(this.db, round.id, {
      metrics,
      comparison: { ...result.comparison, promoted: result.promotion.promote, reason: result.promotion.reason },
      timings,
      artifactJson: result.model.json,
    });
    if (result.promotion.promote) {
      await this.db.transaction().execute(async (trx) => {
        await setPromotedRound(trx, job.project.id, round.id);
        await markPromoted(trx, round.id);
      });
    }
    this.progress(job, 'writing', 0, { log: [{ at: new Date().toISOString(), phase: 'writing', promoted: result.promotion.promote, reason: result.promotion.reason }] });
    this.events.publish(job.project.id, { type: 'metrics', roundId: round.id, metrics, promoted: result.promotion.promote });

    const servingRoundId = result.promotion.promote ? round.id : incumbentId;
    const writeStarted = performance.now();
    if (result.scores && servingRoundId !== null) await this.writePool(job, record, servingRoundId, pool, result.scores);
    await saveTimings(this.db, round.id, { ...timings, writeMs: performance.now() - writeStarted });
  }

  /**
   * The new model's weights, read from the ML process and saved in parts, each at a moment when
   * the server answers no request: a model trained on many labels weighs megabytes, and commits
   * of labels wait behind its log records (and requests behind its copy into this process).
   */
  private async saveWeights(roundId: number, weightBytes: number): Promise<void> {
    await deleteWeights(this.db, roundId);
    for (let part = 0; part * WEIGHTS_PART < weightBytes; part++) {
      await this.quietMoment();
      const from = part * WEIGHTS_PART;
      const bytes = await this.worker.readWeights(roundId, from, Math.min(from + WEIGHTS_PART, weightBytes));
      await saveWeightsPart(this.db, roundId, part, bytes);
    }
  }

  /** A moment when this server answers no request (or WRITE_WAIT_MS), for each write of a round's results. */
  private quietMoment(): Promise<void> {
    return this.foreground.whenIdle(WRITE_WAIT_MS);
  }

  private async scoreWithPromoted(record: JobRecord, job: Job): Promise<void> {
    const roundId = job.project.promotedRoundId;
    if (roundId === null) return;
    const round = await findRound(this.db, roundId);
    if (!round) throw new Error(`round ${roundId} no longer exists`);
    this.progress(job, 'loading', 0);
    const counts = await countLabels(this.db, job.project.id);
    const pool = await openPoolIds(this.db, job.project.id);
    const inputs = await this.inputs(job, concatIds(pool));
    const scores = await this.worker.scorePool(
      {
        model: { roundId, load: () => this.modelOf(roundId) },
        inputs,
        pool: positions(0, pool.length),
        strategy: job.project.strategy as Strategy,
        batch: queueBatch(job.project),
        seed: round.seed * 7919 + record.id,
        labeledCounts: job.labelIds.map((id) => counts.get(id) ?? 0),
      },
      { signal: job.control.signal, onProgress: this.onWorkerProgress(job) },
    );
    await this.writePool(job, record, roundId, pool, scores);
  }

  /**
   * Featurizer inputs for the given items, row i for itemIds[i]: hashed in the worker for text.
   * An item may appear twice (labeled, yet open for another annotator's label); that costs a
   * duplicate row, where de-duplicating a hundred thousand ids would hold up request handling.
   */
  private async inputs(job: Job, itemIds: Int32Array): Promise<WorkerInputs> {
    if (job.project.kind === 'text') {
      await this.worker.ensureTexts(job.project.id, itemIds, async (ids) => (await itemContents(this.db, ids)).map((c) => c.text));
      return { kind: 'cached-text', projectId: job.project.id, itemIds };
    }
    const values: ItemInput[] = [];
    for (let start = 0; start < itemIds.length; start += 5_000) {
      const contents = await itemContents(this.db, Array.from(itemIds.subarray(start, start + 5_000)));
      for (const content of contents) values.push(await this.inputOf(job.project.kind, content));
      this.progress(job, 'loading', start / itemIds.length);
    }
    return { kind: 'values', values };
  }

  private async inputOf(kind: ItemKind, content: { features: Array<number | null> | null; image: string | null }): Promise<ItemInput> {
    if (kind === 'vector') return content.features ?? [];
    const image = content.image ?? '';
    if (image.startsWith('data:')) return image;
    const bytes = await this.images.read(image);
    if (!bytes) throw new Error(`image file ${image} can no longer be read`);
    return bytes;
  }

  /**
   * Writes scores in priority order, in short transactions. Priorities are offset by the job id,
   * so what this run has written outranks everything earlier runs wrote: the head of the queue
   * follows the new model from the first chunk on. Every item gets the new suggestion and score;
   * only the head of the queue gets a new priority (see queueHead): re-ranking the tail of a large
   * pool after every 25 labels would cost index writes that annotators' commits wait behind.
   */
  private async writePool(job: Job, record: JobRecord, roundId: number, pool: number[], scores: PoolScores): Promise<void> {
    const order = scores.order;
    const offset = record.id * 4;
    const chunks: Int32Array[] = [];
    for (let start = 0; start < order.length; start += WRITE_CHUNK) chunks.push(order.subarray(start, start + WRITE_CHUNK));
    let written = 0;
    const head = queueHead(job.project);
    const writeChunk = async (slice: Int32Array, first: boolean, ranked: boolean) => {
      await writeScores(this.db, roundId, {
        itemIds: Int32Array.from(slice, (i) => pool[i]),
        scores: Float32Array.from(slice, (i) => scores.score[i]),
        priorities: ranked ? Float64Array.from(slice, (i) => offset + scores.priority[i]) : null,
        strategies: Uint8Array.from(slice, (i) => scores.strategy[i]),
        strategyNames: scores.strategies,
        suggestionLabelIds: Int32Array.from(slice, (i) => job.labelIds[scores.suggestion[i]]),
        confidences: Float32Array.from(slice, (i) => scores.confidence[i]),
      });
      written += slice.length;
      this.progress(job, 'writing', written / order.length);
      if (first) this.events.publish(job.project.id, { type: 'queue', roundId, scored: written, complete: false });
    };
    // The head of the queue first, on its own; then the rest with writers in parallel (the
    // database, not this process, is the bottleneck), all but the first standing aside while
    // annotators are at work, and every chunk waiting for a moment without requests.
    if (chunks.length > 0) {
      await this.quietMoment();
      await writeChunk(chunks[0], true, true);
    }
    await writeChunksInParallel({
      count: chunks.length,
      writers: WRITERS,
      mayHelp: async () => !(await labeledWithin(this.db, ACTIVE_SECONDS)),
      pauseMs: 250,
      cancelled: () => job.control.signal.cancelled,
      beforeWrite: () => this.quietMoment(),
      write: (index) => writeChunk(chunks[index], false, index * WRITE_CHUNK < head),
    });
    this.events.publish(job.project.id, { type: 'queue', roundId, scored: written, complete: true });
  }
}

/** The lists one after the other. */
function concatIds(...lists: readonly number[][]): Int32Array {
  const ids = new Int32Array(lists.reduce((sum, list) => sum + list.length, 0));
  let at = 0;
  for (const list of lists) {
    ids.set(list, at);
    at += list.length;
  }
  return ids;
}

/** `count` consecutive positions, starting at `from`. */
const positions = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

/** Items the batch-aware strategy selects together at the head of the queue: two retraining cycles. */
function queueBatch(project: ProjectRecord): number {
  return Math.min(500, Math.max(50, 2 * (project.retrainEvery || 25)));
}

/**
 * Items re-ranked by each scoring run: far more than annotators label before the next round
 * (retrainEvery labels), so the queue they see is always the new model's order. Without an
 * automatic loop the next round may be far off, so the whole pool is re-ranked.
 */
function queueHead(project: ProjectRecord): number {
  return project.retrainEvery === 0 ? Infinity : Math.max(5_000, 40 * project.retrainEvery);
}

/** Metrics as the API shows them: label names instead of indices, intervals as pairs. */
function toMetricsJson(metrics: NonNullable<RoundResult['metrics']>, labels: string[]) {
  return {
    labels,
    count: metrics.count,
    accuracy: metrics.accuracy,
    accuracyCi: metrics.accuracyInterval ? [metrics.accuracyInterval.low, metrics.accuracyInterval.high] : null,
    macroF1: metrics.macroF1,
    macroF1Ci: metrics.macroF1Interval ? [metrics.macroF1Interval.low, metrics.macroF1Interval.high] : null,
    perLabel: metrics.perLabel,
    confusion: metrics.confusion,
    ece: metrics.expectedCalibrationError,
    logLoss: metrics.logLoss,
  };
}
