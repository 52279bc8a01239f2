import { Hono } from 'hono';
import { z } from 'zod';
import { STRATEGIES } from '../../ml/index.js';
import type { Project, ProjectService } from '../services/project.service.js';
import { principalOf, requireAdmin, requireProjectRole, requireUser } from './auth.middleware.js';
import { projectParams } from './params.js';
import { validate } from './validate.js';
import { limitBody } from './body-limit.js';

/** Keys the labeling page keeps for itself: digits pick labels by position, S skips, ? helps. */
const reservedHotkeys = new Set(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 's', '?', ' ']);

const labelSchema = z.object({
  name: z.string().trim().min(1, 'label name is empty').max(100),
  hotkey: z
    .string()
    .length(1, 'hotkey must be a single character')
    .refine((key) => !reservedHotkeys.has(key.toLowerCase()), 'digits, S, ? and space are reserved on the labeling page')
    .nullish(),
});

/** Queue settings a project can be created with and change later. */
const queueSettings = {
  holdoutShare: z.number().min(0, 'holdoutShare is a share between 0 and 0.5').max(0.5, 'holdoutShare is a share between 0 and 0.5'),
  overlap: z.number().int().min(1, 'overlap is 1 to 10 labels per item').max(10, 'overlap is 1 to 10 labels per item'),
  leaseSeconds: z.number().int().min(30, 'leaseSeconds is 30 s to 1 day').max(86_400, 'leaseSeconds is 30 s to 1 day'),
};

/** How the project retrains: every N new labels (0 = by hand only), the queue's strategy, the model and promotion policy. */
export const loopSettings = {
  retrainEvery: z.number().int().min(0, 'retrainEvery is 0 (off) to 100,000 labels').max(100_000, 'retrainEvery is 0 (off) to 100,000 labels'),
  strategy: z.enum(STRATEGIES),
  model: z.enum(['softmax', 'mlp']),
  promotion: z.enum(['always', 'never', 'if-better']),
};

/** What a project may be created with and change later, all optional. */
const optionalSettings = {
  guidelines: z.string().max(100_000).optional(),
  holdoutShare: queueSettings.holdoutShare.optional(),
  overlap: queueSettings.overlap.optional(),
  leaseSeconds: queueSettings.leaseSeconds.optional(),
  retrainEvery: loopSettings.retrainEvery.optional(),
  strategy: loopSettings.strategy.optional(),
  model: loopSettings.model.optional(),
  promotion: loopSettings.promotion.optional(),
};

export const newProjectSchema = z.object({
  name: z.string().trim().min(1, 'name is required').max(200),
  kind: z.enum(['text', 'vector', 'image']),
  labels: z
    .array(labelSchema)
    .min(2, 'a project needs at least 2 labels')
    .max(100, 'a project can have at most 100 labels')
    .superRefine((labels, ctx) => {
      const names = new Set<string>();
      const hotkeys = new Set<string>();
      labels.forEach((label, i) => {
        if (names.has(label.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `label "${label.name}" appears twice` });
        names.add(label.name);
        const key = label.hotkey?.toLowerCase();
        if (key) {
          if (hotkeys.has(key)) ctx.addIssue({ code: 'custom', path: [i, 'hotkey'], message: `hotkey "${label.hotkey}" is used twice` });
          hotkeys.add(key);
        }
      });
    }),
  ...optionalSettings,
});

const projectPatchSchema = z
  .object({
    name: z.string().trim().min(1, 'name is required').max(200).optional(),
    ...optionalSettings,
    annotatorsSeeAllLabels: z.boolean().optional(),
  })
  .strict();


export function projectRoutes(projects: ProjectService) {
  return new Hono()
    .post('/', requireAdmin, limitBody(1024 * 1024), validate('json', newProjectSchema), async (c) => {
      const project = await projects.create(c.req.valid('json'), principalOf(c).email);
      return c.json(toProjectJson(project), 201);
    })
    .get('/', requireUser, async (c) => {
      const principal = principalOf(c);
      const visible = await projects.list(principal.userIsAdmin ? undefined : principal.userId);
      return c.json({ projects: visible.map(toProjectJson) });
    })
    .get('/:projectId', requireProjectRole('annotator'), validate('param', projectParams), async (c) => {
      return c.json(toProjectJson(await projects.get(c.req.valid('param').projectId)));
    })
    .patch(
      '/:projectId',
      requireProjectRole('lead'),
      limitBody(1024 * 1024),
      validate('param', projectParams),
      validate('json', projectPatchSchema),
      async (c) => {
        return c.json(toProjectJson(await projects.update(c.req.valid('param').projectId, c.req.valid('json'), principalOf(c).email)));
      },
    );
}

function toProjectJson(project: Project) {
  return {
    id: project.id,
    name: project.name,
    kind: project.kind,
    labels: project.labels,
    guidelines: project.guidelines,
    holdoutShare: project.holdoutShare,
    overlap: project.overlap,
    leaseSeconds: project.leaseSeconds,
    retrainEvery: project.retrainEvery,
    strategy: project.strategy,
    model: project.model,
    promotion: project.promotion,
    promotedRoundId: project.promotedRoundId,
    annotatorsSeeAllLabels: project.annotatorsSeeAllLabels,
    createdAt: project.createdAt.toISOString(),
    counts: project.counts,
  };
}
