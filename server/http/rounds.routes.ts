import { Hono } from 'hono';
import { z } from 'zod';
import type { Round, RoundService } from '../services/round.service.js';
import { principalOf, requireProjectRole } from './auth.middleware.js';
import { projectParams, roundParams } from './params.js';
import { loopSettings } from './projects.routes.js';
import { rateLimit } from './rate-limit.js';
import { validate } from './validate.js';

/** Hyper-parameters a round may override (see ml/train.ts for their meaning and defaults). */
const trainParams = z
  .object({
    hiddenUnits: z.number().int().min(4).max(1024),
    c: z.number().positive().max(1e6),
    learningRate: z.number().positive().max(1),
    batchSize: z.number().int().min(8).max(8192),
    maxEpochs: z.number().int().min(1).max(500),
    minSteps: z.number().int().min(1).max(100_000),
    patience: z.number().int().min(1).max(100),
    validationShare: z.number().min(0).max(0.5),
    validationFrom: z.number().int().min(2),
    classWeights: z.enum(['balanced', 'none']),
    dropout: z.number().min(0).max(0.9),
  })
  .partial()
  .strict();

const launchSchema = z
  .object({ strategy: loopSettings.strategy.optional(), model: loopSettings.model.optional(), params: trainParams.optional() })
  .strict();

/** Retraining rounds and the model registry of a project: engineers and above. */
export function roundRoutes(rounds: RoundService) {
  return new Hono()
    .post('/:projectId/rounds', requireProjectRole('engineer'), rateLimit('expensive'), validate('param', projectParams), validate('json', launchSchema), async (c) => {
      const { round, collapsed } = await rounds.launch(c.req.valid('param').projectId, c.req.valid('json'), 'manual');
      return c.json({ id: round.id, number: round.number, status: round.status, collapsed }, 202);
    })
    .get('/:projectId/rounds', requireProjectRole('engineer'), validate('param', projectParams), async (c) => {
      return c.json((await rounds.list(c.req.valid('param').projectId)).map(toRoundJson));
    })
    .get('/:projectId/rounds/:roundId', requireProjectRole('engineer'), validate('param', roundParams), async (c) => {
      const { projectId, roundId } = c.req.valid('param');
      return c.json(toRoundJson(await rounds.get(projectId, roundId)));
    })
    .post('/:projectId/rounds/:roundId/promote', requireProjectRole('engineer'), validate('param', roundParams), async (c) => {
      const { projectId, roundId } = c.req.valid('param');
      return c.json(toRoundJson(await rounds.promote(projectId, roundId, principalOf(c).email)));
    })
    .post('/:projectId/rounds/:roundId/cancel', requireProjectRole('engineer'), validate('param', roundParams), async (c) => {
      const { projectId, roundId } = c.req.valid('param');
      return c.json(toRoundJson(await rounds.cancel(projectId, roundId)));
    });
}

export function toRoundJson(round: Round) {
  const comparison = round.comparison as { promoted?: boolean; reason?: string } | null;
  return {
    id: round.id,
    number: round.number,
    status: round.status,
    phase: round.phase,
    progress: round.progress,
    etaSeconds: round.etaSeconds,
    trigger: round.trigger,
    strategy: round.strategy,
    model: round.model,
    params: round.params,
    trainLabels: round.trainLabels,
    holdoutLabels: round.holdoutLabels,
    metrics: round.metrics,
    promoted: round.promoted,
    promotedAt: round.promotedAt?.toISOString() ?? null,
    promotion: comparison ? { promoted: comparison.promoted ?? false, reason: comparison.reason ?? null, comparison } : null,
    timings: round.timings,
    log: round.log,
    error: round.error,
    createdAt: round.createdAt.toISOString(),
    finishedAt: round.finishedAt?.toISOString() ?? null,
  };
}
