import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createJobRunner } from '../../server/app.js';
import { defaultRateLimits } from '../../server/http/rate-limit.js';
import { createTestApp, type TestApp, textProject } from '../support/test-app.js';
import { testDatabaseKinds } from '../support/test-db.js';
import { ticket, ticketLabels as labelNames } from '../support/tickets.js';

interface RoundJson {
  id: number;
  number: number;
  status: string;
  trigger: string;
  trainLabels: number;
  holdoutLabels: number;
  promoted: boolean;
  metrics: {
    accuracy: number;
    accuracyCi: [number, number];
    macroF1: number;
    macroF1Ci: [number, number];
    perLabel: Array<{ label: string; precision: number; recall: number; f1: number; support: number }>;
    confusion: number[][];
    ece: number;
  } | null;
  promotion: { promoted: boolean; reason: string } | null;
  log: Array<Record<string, unknown>>;
  timings: Record<string, number> | null;
  error: string | null;
}

describe.each(testDatabaseKinds())('retraining rounds on %s', (kind) => {
  let t: TestApp;
  let projectId: number;

  const rounds = async (): Promise<RoundJson[]> => {
    const res = await t.call('GET', `/api/projects/${projectId}/rounds`);
    expect(res.status).toBe(200);
    return res.body;
  };
  const launch = async (body: unknown = {}) => {
    const res = await t.call('POST', `/api/projects/${projectId}/rounds`, body);
    expect(res.status).toBe(202);
    return res.body as { id: number; status: string; collapsed: boolean };
  };
  const query = async <T>(statement: ReturnType<typeof sql<T>>) => (await statement.execute(t.database.db)).rows;

  beforeAll(async () => {
    // Every test imports and launches as the one admin, more often than a person would in a minute.
    t = await createTestApp(kind, { rateLimits: { ...defaultRateLimits, expensive: { max: 1000, windowMs: 60_000 } } });
  });
  beforeEach(async () => {
    projectId = (await t.call('POST', '/api/projects', { ...textProject, labels: labelNames.map((name) => ({ name })), holdoutShare: 0.3 })).body.id;
    // 90 labeled tickets (about 30 % of them in the holdout) and 150 unlabeled ones.
    const rows = Array.from({ length: 240 }, (_, i) => {
      const { id, text, truth } = ticket(i);
      return JSON.stringify(i < 90 ? { id, text, label: truth } : { id, text });
    }).join('\n');
    const imported = await t.call('POST', `/api/projects/${projectId}/items`, rows, 'application/x-ndjson');
    expect(imported.status).toBe(200);
    await t.call('PATCH', `/api/projects/${projectId}`, { retrainEvery: 0 });
  });
  afterAll(() => t.close());

  it('trains, evaluates on the holdout, promotes the first model and re-orders the queue with it', async () => {
    const launched = await launch();
    expect(launched.status).toBe('queued');
    expect(await t.jobs.runOnce()).toBe(1);

    const [round] = await rounds();
    const holdout = await query(sql<{ n: number }>`select count(*)::int as n from item where project_id = ${projectId} and holdout and label_id is not null`);
    expect(round).toMatchObject({ id: launched.id, number: 1, status: 'succeeded', trigger: 'manual', promoted: true });
    expect(round.holdoutLabels).toBe(holdout[0].n);
    expect(round.trainLabels + round.holdoutLabels).toBe(90);
    const metrics = round.metrics!;
    // Chance is 1/3; the holdout is a random ~27 items, so the bar leaves room for an unlucky draw.
    expect(metrics.accuracy).toBeGreaterThan(0.7);
    expect(metrics.accuracyCi[0]).toBeLessThanOrEqual(metrics.accuracy);
    expect(metrics.accuracyCi[1]).toBeGreaterThanOrEqual(metrics.accuracy);
    expect(metrics.perLabel.map((m) => m.label)).toEqual(labelNames);
    expect(metrics.confusion.flat().reduce((a, b) => a + b, 0)).toBe(round.holdoutLabels);
    expect(round.promotion).toMatchObject({ promoted: true, reason: 'no model was promoted yet' });
    expect(round.log.some((entry) => typeof entry.epoch === 'number' && typeof entry.trainLoss === 'number')).toBe(true);
    expect(round.timings).toMatchObject({ trainMs: expect.any(Number), writeMs: expect.any(Number) });

    // The exact training set is recorded and matches the labels at the time.
    const [frozen] = await query(sql<{ train: number[]; labels: number[] }>`
      select train_item_ids as train, train_label_ids as labels from round where round_id = ${round.id}`);
    const current = await query(sql<{ item_id: number; label_id: number }>`
      select item_id, label_id from item where project_id = ${projectId} and label_id is not null and not holdout order by item_id`);
    expect(frozen.train).toEqual(current.map((r) => r.item_id));
    expect(frozen.labels).toEqual(current.map((r) => r.label_id));

    // Every open item carries the round's suggestion; the queue shows it with the reason.
    const listed = await t.call('GET', `/api/projects/${projectId}/items?status=unlabeled&limit=200`);
    const suggested = listed.body.items.filter((i: { suggestion: unknown }) => i.suggestion !== null);
    const [open] = await query(sql<{ n: number }>`select count(*)::int as n from item where project_id = ${projectId} and open and not holdout`);
    expect(suggested.length).toBe(open.n);
    let right = 0;
    for (const item of suggested) {
      expect(item.suggestion.roundId).toBe(round.id);
      if (item.suggestion.label === ticket(Number(item.externalId.slice(1))).truth) right++;
    }
    expect(right / suggested.length).toBeGreaterThan(0.8);
    await t.call('PATCH', `/api/projects/${projectId}`, { holdoutShare: 0 });
    const next = await t.call('POST', `/api/projects/${projectId}/queue/next`, { n: 5 });
    for (const item of next.body.items) {
      expect(item.suggestion.roundId).toBe(round.id);
      expect(item.reason.strategy).not.toBe('cold-start (random)');
    }
  });

  it('collapses concurrent triggers into one queued round and runs one round per project at a time', async () => {
    const launched = await Promise.all([launch(), launch(), launch()]);
    expect(new Set(launched.map((l) => l.id)).size).toBe(1);
    expect(launched.filter((l) => l.collapsed)).toHaveLength(2);
    expect(await t.jobs.runOnce()).toBe(1);
    expect((await rounds()).map((r) => r.status)).toEqual(['succeeded']);
  });

  it('starts a round by itself every N new labels', async () => {
    await launch();
    await t.jobs.runOnce();
    await t.call('PATCH', `/api/projects/${projectId}`, { retrainEvery: 4, holdoutShare: 0 });
    expect(await t.jobs.runOnce()).toBe(0);
    const next = await t.call('POST', `/api/projects/${projectId}/queue/next`, { n: 4 });
    for (const [i, item] of next.body.items.entries()) {
      const label = ticket(Number(item.externalId.slice(1))).truth;
      const res = await t.request(`/api/items/${item.id}/annotations`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': `auto-${kind}-${projectId}-${i}` },
        body: JSON.stringify({ label }),
      });
      expect(res.status).toBe(201);
      if (i < 3) expect(await t.jobs.runOnce()).toBe(0);
    }
    expect(await t.jobs.runOnce()).toBe(1);
    const all = await rounds();
    expect(all.map((r) => [r.number, r.trigger, r.status])).toEqual([
      [1, 'manual', 'succeeded'],
      [2, 'auto', 'succeeded'],
    ]);
    expect(all[1].trainLabels + all[1].holdoutLabels).toBe(94);
  });

  it('starts the automatic round promptly while labels keep arriving', async () => {
    await launch();
    await t.jobs.runOnce();
    await t.call('PATCH', `/api/projects/${projectId}`, { retrainEvery: 5, holdoutShare: 0 });
    const { items } = (await t.call('POST', `/api/projects/${projectId}/queue/next`, { n: 40 })).body;
    t.jobs.start();
    try {
      // One label every 20 ms, for far longer than it takes to notice five of them.
      let labeled = 0;
      for (const item of items) {
        await t.request(`/api/items/${item.id}/annotations`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Idempotency-Key': `steady-${kind}-${item.id}` },
          body: JSON.stringify({ label: ticket(Number(item.externalId.slice(1))).truth }),
        });
        labeled++;
        if ((await rounds()).some((r) => r.trigger === 'auto')) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(labeled).toBeLessThan(20);
    } finally {
      await t.jobs.stop();
    }
  });

  it('starts a round launched by hand at once, not at the job runner\'s next poll', async () => {
    // A runner that, unless told of new work, looks for it once a minute.
    const runner = createJobRunner(t.database.db, t.services, { pollMs: 60_000, log: () => undefined });
    await runner.runOnce();
    runner.start();
    try {
      // Its first look, at start, finds nothing to do.
      await new Promise((r) => setTimeout(r, 300));
      const launched = await launch();
      const launchedAt = Date.now();
      let status = launched.status;
      while (status === 'queued' && Date.now() - launchedAt < 10_000) {
        await new Promise((r) => setTimeout(r, 50));
        status = (await rounds()).find((r) => r.id === launched.id)!.status;
      }
      expect(status).not.toBe('queued');
    } finally {
      await runner.stop();
    }
  });

  it('keeps the current model when the project never promotes, and rolls back on request, also after a restart', async () => {
    await launch();
    await t.jobs.runOnce();
    await t.call('PATCH', `/api/projects/${projectId}`, { promotion: 'never' });
    await launch({ model: 'mlp', params: { hiddenUnits: 16 } });
    await t.jobs.runOnce();
    let [first, second] = await rounds();
    expect(first.promoted).toBe(true);
    expect(second).toMatchObject({ status: 'succeeded', promoted: false, promotion: { promoted: false } });
    const suggestionRounds = async () =>
      (await query(sql<{ round: number | null }>`select distinct score_round_id as round from item where project_id = ${projectId} and open and not holdout`)).map((r) => r.round);
    expect(await suggestionRounds()).toEqual([first.id]);
    const suggestions = () =>
      query(sql`select item_id, suggestion_label_id, suggestion_confidence from item where project_id = ${projectId} and open and not holdout order by item_id`);
    const firstSuggestions = await suggestions();

    // After a restart of the ML process, the models come back from the database.
    await t.services.roundWorker.close();
    const promoted = await t.call('POST', `/api/projects/${projectId}/rounds/${second.id}/promote`);
    expect(promoted.status).toBe(200);
    expect(await t.jobs.runOnce()).toBe(1);
    expect(await suggestionRounds()).toEqual([second.id]);
    [first, second] = await rounds();
    expect([first.promoted, second.promoted]).toEqual([false, true]);

    await t.services.roundWorker.close();
    await t.call('POST', `/api/projects/${projectId}/rounds/${first.id}/promote`);
    await t.jobs.runOnce();
    expect(await suggestionRounds()).toEqual([first.id]);
    expect(await suggestions()).toEqual(firstSuggestions);
    expect((await t.call('GET', `/api/projects/${projectId}`)).body.promotedRoundId).toBe(first.id);
  });

  it('cancels a queued round, and refuses to promote a round without a model', async () => {
    const { id } = await launch();
    const refused = await t.call('POST', `/api/projects/${projectId}/rounds/${id}/promote`);
    expect(refused.status).toBe(409);
    const cancelled = await t.call('POST', `/api/projects/${projectId}/rounds/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect(await t.jobs.runOnce()).toBe(0);
    expect((await t.call('POST', `/api/projects/${projectId}/rounds/${id}/cancel`)).status).toBe(409);
    expect((await t.call('POST', `/api/projects/${projectId}/rounds/999999/promote`)).status).toBe(404);
  });

  it('scores newly imported items with the promoted model', async () => {
    await launch();
    await t.jobs.runOnce();
    const [round] = await rounds();
    const more = Array.from({ length: 30 }, (_, i) => JSON.stringify({ id: `new${i}`, text: ticket(1000 + i).text })).join('\n');
    await t.call('POST', `/api/projects/${projectId}/items`, more, 'application/x-ndjson');
    expect(await t.jobs.runOnce()).toBe(1);
    const fresh = await query(sql<{ round: number | null }>`
      select score_round_id as round from item where project_id = ${projectId} and external_id like 'new%' and not holdout`);
    expect(fresh.length).toBeGreaterThan(0);
    expect(new Set(fresh.map((r) => r.round))).toEqual(new Set([round.id]));
  });

  it('stops a running round on cancel', async () => {
    // Long enough to be caught running: many epochs, no early stopping.
    const { id } = await launch({ model: 'mlp', params: { hiddenUnits: 256, maxEpochs: 500, minSteps: 100_000, validationFrom: 100_000 } });
    const running = t.jobs.runOnce();
    for (let i = 0; i < 200; i++) {
      const [job] = await query(sql<{ status: string; phase: string | null }>`select status, phase from job where round_id = ${id}`);
      if (job.status === 'running' && job.phase === 'training') break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const cancel = await t.call('POST', `/api/projects/${projectId}/rounds/${id}/cancel`);
    expect(cancel.status).toBe(200);
    await running;
    const [round] = await rounds();
    expect(round.status).toBe('cancelled');
    expect(round.promoted).toBe(false);
    expect((await t.call('GET', `/api/projects/${projectId}`)).body.promotedRoundId).toBeNull();
  });

  it('rejects unknown strategies, models and parameters with the field at fault', async () => {
    const bad = await t.call('POST', `/api/projects/${projectId}/rounds`, { strategy: 'psychic', params: { hiddenUnits: -1, rate: 3 } });
    expect(bad.status).toBe(400);
    const paths = bad.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['strategy', 'params.hiddenUnits']));
    expect((await t.call('PATCH', `/api/projects/${projectId}`, { promotion: 'sometimes' })).status).toBe(400);
    expect(await rounds()).toEqual([]);
  });

  it('resumes a round whose runner died, once, then marks it failed', async () => {
    const { id } = await launch();
    // As if a server had claimed it and then crashed a minute ago.
    await sql`update job set status = 'running', attempts = 1, heartbeat_at = now() - interval '1 minute' where round_id = ${id}`.execute(t.database.db);
    expect(await t.jobs.runOnce()).toBe(1);
    const [round] = await rounds();
    expect(round.status).toBe('succeeded');
    const [job] = await query(sql<{ attempts: number }>`select attempts from job where round_id = ${id}`);
    expect(job.attempts).toBe(2);

    const second = await launch();
    await sql`update job set status = 'running', attempts = 2, heartbeat_at = now() - interval '1 minute' where round_id = ${second.id}`.execute(t.database.db);
    expect(await t.jobs.runOnce()).toBe(0);
    const failed = (await rounds()).find((r) => r.id === second.id)!;
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/stopped while the job was running/);
  });

  it('streams round progress, metrics and the queue refresh as server-sent events', async () => {
    const res = await t.request(`/api/projects/${projectId}/events`);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    const seen: string[] = [];
    const reading = (async () => {
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += new TextDecoder().decode(value);
        for (const match of buffer.matchAll(/^event: (\w+)$/gm)) seen.push(match[1]);
        buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
        if (seen.includes('queue') && seen.at(-1) === 'round') return;
      }
    })();
    await launch();
    await t.jobs.runOnce();
    await reading;
    await reader.cancel();
    expect(seen[0]).toBe('ready');
    expect(seen).toEqual(expect.arrayContaining(['round', 'metrics', 'queue']));
  });

  it('shows the learning curve, queue make-up and a stop signal on the dashboard', async () => {
    await launch();
    await t.jobs.runOnce();
    const res = await t.call('GET', `/api/projects/${projectId}/dashboard`);
    expect(res.status).toBe(200);
    expect(res.body.curve).toHaveLength(1);
    expect(res.body.curve[0]).toMatchObject({ number: 1, promoted: true, accuracy: expect.any(Number) });
    expect(res.body.stop.state).toBe('collecting');
    expect(res.body.queue).toMatchObject({ items: 240 });
    expect(res.body.queue.labeledTraining + res.body.queue.labeledHoldout).toBe(90);
    expect(res.body.queue.byStrategy.reduce((sum: number, s: { items: number }) => sum + s.items, 0)).toBe(res.body.queue.open);
  });
});
