/**
 * `npm run bench:loop`: the retraining loop against the real server and PostgreSQL.
 *
 * - latency: a 100,000-item WordNet text pool with 2,000 labels; from the N-th new label to the
 *   re-scored queue, split into trigger, loading, training, evaluation, scoring and writing.
 *   Target < 5 s.
 * - isolation: simulated annotators with and without rounds retraining back to back; annotator
 *   p99 with rounds stays within 1.5× of idle, and the worker's tensor count stays flat over 50
 *   rounds.
 * - honesty: a simulated annotator labels the WordNet development pool through the API; the final
 *   round's holdout accuracy (what the dashboard shows) must lie within its own confidence
 *   interval of the accuracy on a separate test file.
 *
 * Usage: npm run bench:loop [-- --only latency|isolation|honesty] [--wordnet PATH]
 * (env: BENCH_ROUNDS, BENCH_BUSY_SECONDS (each of the idle and busy periods), BENCH_THINK_MS, BENCH_BUDGET)
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { hashText, initBackend, loadModel, predictProba } from '../../ml/index';
import { createRandom, permutation } from '../../ml/seeded-random';
import { findArtifact } from '../../server/repositories/round.repository';
import { loadPackagedWordVectors } from '../../server/repositories/word-vectors.repository';
import { formatLatency, percentile, runAnnotators } from './annotator-load.js';
import { type BenchServer, benchUsers, freshBenchDatabase, startBenchServer, verdict } from './bench-server.js';

const { values } = parseArgs({ options: { wordnet: { type: 'string' }, only: { type: 'string' } } });
const wordnetPath =
  values.wordnet ?? process.env.WORDNET_PATH ?? new URL('../../../shared/datasets/wordnet-nouns.jsonl', import.meta.url).pathname;
const targets = { latencySeconds: 5, p99Ratio: 1.5, rounds: Number(process.env.BENCH_ROUNDS ?? 50) };
const checks: Array<[string, boolean]> = [];

function check(name: string, pass: boolean, detail: string): void {
  checks.push([name, pass]);
  console.log(`${verdict(pass)}  ${name}: ${detail}`);
}

interface Row {
  text: string;
  label: string;
}

function loadWordnet(): Row[] {
  if (!existsSync(wordnetPath)) throw new Error(`WordNet data set not found at ${wordnetPath} (pass --wordnet PATH)`);
  return readFileSync(wordnetPath, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Row);
}

const openDb = (url: string) => new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 2 }) }) });

/** The API as one user (an admin unless another token is given per call). */
class Api {
  constructor(
    private readonly server: BenchServer,
    private readonly token: string,
  ) {}

  static async asAdmin(server: BenchServer, databaseUrl: string): Promise<Api> {
    const tokens = await benchUsers(databaseUrl, ['admin@bench.test'], 'admin');
    return new Api(server, tokens.get('admin@bench.test')!);
  }

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<any> {
    const res = await fetch(`${this.server.url}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.token}`, ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const json = await res.json().catch(() => null);
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
    return json;
  }
}

/** Server-sent events of a project, with the arrival time of each. */
function listen(server: BenchServer, projectId: number, token: string) {
  const events: Array<{ at: number; type: string; data: any }> = [];
  const controller = new AbortController();
  const waiters: Array<() => void> = [];
  void (async () => {
    const res = await fetch(`${server.url}/api/projects/${projectId}/events`, { signal: controller.signal, headers: { Authorization: `Bearer ${token}` } });
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const type = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
          const data = /^data: (.*)$/m.exec(block)?.[1];
          events.push({ at: performance.now(), type, data: data ? JSON.parse(data) : null });
          for (const wake of waiters.splice(0)) wake();
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    events,
    close: () => controller.abort(),
    async waitFor(predicate: (event: { type: string; data: any }) => boolean, timeoutMs: number) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const found = events.find(predicate);
        if (found) return found;
        if (performance.now() > deadline) throw new Error('timed out waiting for an event');
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 250);
        });
      }
    },
  };
}

/** A text project with `size` items drawn from WordNet (repeated with a suffix past its size). */
async function seedPool(databaseUrl: string, rows: Row[], size: number, labeled: number) {
  const db = openDb(databaseUrl);
  const labels = [...new Set(rows.map((r) => r.label))].sort();
  const { project_id: projectId } = await db
    .insertInto('project')
    .values({ name: 'Loop benchmark', kind: 'text', guidelines: '', retrain_every: 0 })
    .returning('project_id')
    .executeTakeFirstOrThrow();
  const labelRows = await db
    .insertInto('label')
    .values(labels.map((name, position) => ({ project_id: projectId, name, position })))
    .returning(['label_id', 'name'])
    .execute();
  const labelId = new Map(labelRows.map((l) => [l.name, l.label_id]));
  const order = permutation(rows.length, createRandom(11));
  for (let start = 0; start < size; start += 10_000) {
    const chunk = Array.from({ length: Math.min(10_000, size - start) }, (_, k) => {
      const i = start + k;
      const row = rows[order[i % rows.length]];
      return { id: `w${i}`, text: i < rows.length ? row.text : `${row.text} (${Math.floor(i / rows.length)})`, label: row.label, labeled: i < labeled };
    });
    await sql`
      insert into item (project_id, external_id, text, label_id, label_count, open, random_key, holdout)
      select ${projectId}, t.external_id, t.text, t.label_id, (t.label_id is not null)::int, t.label_id is null, t.r, t.r < 0.1
      from (select *, random() as r from unnest(${chunk.map((c) => c.id)}::text[], ${chunk.map((c) => c.text)}::text[],
                                    ${chunk.map((c) => (c.labeled ? labelId.get(c.label)! : null))}::int[])
            as u(external_id, text, label_id)) t`.execute(db);
  }
  await sql`insert into annotation (item_id, project_id, label_id, annotator, source)
    select item_id, project_id, label_id, 'seed', 'import' from item where project_id = ${projectId} and label_id is not null order by item_id`.execute(db);
  await sql`analyze`.execute(db);
  const truth = new Map<string, string>();
  for (let i = 0; i < size; i++) truth.set(`w${i}`, rows[order[i % rows.length]].label);
  await db.destroy();
  return { projectId, truth };
}

async function annotatorOf(server: BenchServer, databaseUrl: string, projectId: number, name: string): Promise<Api> {
  const email = `${name}@bench.test`;
  return new Api(server, (await benchUsers(databaseUrl, [email], 'annotator', projectId)).get(email)!);
}

async function waitForIdle(api: Api, projectId: number, timeoutMs = 600_000): Promise<any[]> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const rounds = (await api.call('GET', `/api/projects/${projectId}/rounds`)) as any[];
    if (rounds.every((r) => r.status !== 'queued' && r.status !== 'running')) return rounds;
    if (performance.now() > deadline) throw new Error('rounds did not finish in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Labels `count` items from the queue as one annotator (a user with a token). */
async function labelFromQueue(annotator: Api, projectId: number, count: number, truth: Map<string, string>, tag: string) {
  let done = 0;
  let lastAt = 0;
  while (done < count) {
    const { items } = await annotator.call('POST', `/api/projects/${projectId}/queue/next`, { n: Math.min(10, count - done) });
    if (items.length === 0) throw new Error('the queue ran dry');
    for (const item of items) {
      if (done >= count) break;
      await annotator.call('POST', `/api/items/${item.id}/annotations`, { label: truth.get(item.externalId) }, { 'Idempotency-Key': `${tag}-${item.id}` });
      lastAt = performance.now();
      done++;
    }
  }
  return lastAt;
}

async function latency(rows: Row[]): Promise<void> {
  console.log('\n# Round latency: 100,000-item pool, 2,000 labels, a round every 25 new labels');
  const databaseUrl = await freshBenchDatabase('loopwise_bench_loop');
  const server = await startBenchServer(databaseUrl);
  try {
    const { projectId, truth } = await seedPool(databaseUrl, rows, 100_000, 1_975);
    const api = await Api.asAdmin(server, databaseUrl);
    const annotator = await annotatorOf(server, databaseUrl, projectId, 'bench');
    const events = listen(server, projectId, (await benchUsers(databaseUrl, ['watcher@bench.test'], 'admin')).get('watcher@bench.test')!);
    // A first round hashes the pool's texts once (as a project does after its import).
    const started = performance.now();
    await api.call('POST', `/api/projects/${projectId}/rounds`, {});
    await waitForIdle(api, projectId);
    console.log(`first round (hashes 100,000 texts): ${((performance.now() - started) / 1000).toFixed(2)} s`);
    await api.call('PATCH', `/api/projects/${projectId}`, { retrainEvery: 25 });

    const measured: number[] = [];
    for (let run = 0; run < 3; run++) {
      const seen = events.events.length;
      const lastLabel = await labelFromQueue(annotator, projectId, 25, truth, `lat${run}`);
      const head = await events.waitFor((e) => events.events.indexOf(e as never) >= seen && e.type === 'queue', 60_000);
      const full = await events.waitFor((e) => events.events.indexOf(e as never) >= seen && e.type === 'queue' && e.data.complete, 60_000);
      const rounds = await waitForIdle(api, projectId);
      const round = rounds.at(-1);
      const t = round.timings as Record<string, number>;
      const total = ((full as { at: number }).at - lastLabel) / 1000;
      measured.push(total);
      const parts = ['loadMs', 'featurizeMs', 'trainMs', 'evaluateMs', 'scoreMs', 'writeMs'].map((k) => `${k.replace('Ms', '')} ${(t[k] / 1000).toFixed(2)} s`);
      const work = ['loadMs', 'featurizeMs', 'trainMs', 'evaluateMs', 'scoreMs', 'writeMs'].reduce((s, k) => s + t[k], 0) / 1000;
      console.log(
        `round ${round.number} (${round.trainLabels} train + ${round.holdoutLabels} holdout labels): queue head re-ordered after ` +
          `${(((head as { at: number }).at - lastLabel) / 1000).toFixed(2)} s, all 100k scores written after ${total.toFixed(2)} s ` +
          `[trigger and claim ${(total - work).toFixed(2)} s; ${parts.join(', ')}]`,
      );
    }
    events.close();
    const median = measured.sort((a, b) => a - b)[1];
    check(`round latency < ${targets.latencySeconds} s (median of 3)`, median < targets.latencySeconds, `${median.toFixed(2)} s`);
  } finally {
    await server.stop();
  }
}

interface Call {
  kind: 'next' | 'submit';
  startedAt: number;
  ms: number;
}

/** What the project's jobs were doing at each moment, from their logs: [from, to, phase] (epoch ms). */
async function phaseSpans(databaseUrl: string, projectId: number): Promise<Array<[number, number, string]>> {
  const db = openDb(databaseUrl);
  const jobs = await db.selectFrom('job').select(['created_at', 'finished_at', 'log']).where('project_id', '=', projectId).execute();
  await db.destroy();
  const spans: Array<[number, number, string]> = [];
  for (const job of jobs) {
    const marks = ((job.log ?? []) as any[]).filter((e) => e.phase && e.at).map((e) => [Date.parse(e.at), e.phase as string] as const);
    const end = job.finished_at ? new Date(job.finished_at).getTime() : Infinity;
    if (marks.length > 0) spans.push([new Date(job.created_at).getTime(), marks[0][0], 'queued']);
    marks.forEach(([at, phase], i) => spans.push([at, i + 1 < marks.length ? marks[i + 1][0] : end, phase]));
  }
  return spans;
}

/** Annotator latency split by what the rounds were doing when each call started. */
function printByPhase(calls: Call[], spans: Array<[number, number, string]>): void {
  const groups = new Map<string, { next: number[]; submit: number[] }>();
  for (const call of calls) {
    const phase = spans.find(([from, to]) => call.startedAt >= from && call.startedAt < to)?.[2] ?? 'no job';
    const group = groups.get(phase) ?? { next: [], submit: [] };
    group[call.kind].push(call.ms);
    groups.set(phase, group);
  }
  for (const [phase, { next, submit }] of groups) {
    next.sort((a, b) => a - b);
    submit.sort((a, b) => a - b);
    console.log(`  during ${phase.padEnd(11)} next ${formatLatency(next)} (${next.length}); submit ${formatLatency(submit)} (${submit.length})`);
  }
}

async function isolation(rows: Row[]): Promise<void> {
  console.log(`\n# Isolation: annotators while rounds retrain back to back (${targets.rounds} rounds)`);
  const databaseUrl = await freshBenchDatabase('loopwise_bench_loop');
  const server = await startBenchServer(databaseUrl);
  try {
    const { projectId, truth } = await seedPool(databaseUrl, rows, 100_000, 1_975);
    const api = await Api.asAdmin(server, databaseUrl);
    const team = (prefix: string) =>
      benchUsers(databaseUrl, Array.from({ length: 20 }, (_, i) => `${prefix}${i}@bench.test`), 'annotator', projectId);
    const idleTeam = await team('idle-');
    const busyTeam = await team('busy-');
    await api.call('POST', `/api/projects/${projectId}/rounds`, {});
    await waitForIdle(api, projectId);
    // Busy annotators who still read their items (50 ms each by default, BENCH_THINK_MS): a heavy
    // load that leaves the cores some slack, as real labeling does. Flat-out synthetic load is
    // bench:annotate's job.
    const thinkMs = Number(process.env.BENCH_THINK_MS ?? 50);
    const load = (seconds: number, annotators: Map<string, string>, onCall?: (kind: Call['kind'], startedAt: number, ms: number) => void) =>
      runAnnotators({ url: server.url, projectId, annotators, seconds, batch: 5, thinkMs, labelFor: (item) => truth.get(item.externalId)!, onCall });

    // Both teams warm up (first sign-in, connections) before anything is measured.
    await load(5, idleTeam);
    await load(5, busyTeam);
    // Idle and busy are measured over the same length of time: a p99 from a third of the samples
    // is the noisier of the two, and the ratio moved with it.
    const measureSeconds = Number(process.env.BENCH_BUSY_SECONDS ?? 60);
    const idle = await load(measureSeconds, idleTeam);
    console.log(`idle:        ${idle.acknowledged} labels; next ${formatLatency(idle.nextLatency)}; submit ${formatLatency(idle.submitLatency)}`);

    // Every 25 labels start a round: with annotators labeling hundreds a second, rounds run back to back.
    const before = ((await api.call('GET', `/api/projects/${projectId}/rounds`)) as any[]).length;
    await api.call('PATCH', `/api/projects/${projectId}`, { retrainEvery: 25 });
    const calls: Call[] = [];
    const busy = await load(measureSeconds, busyTeam, (kind, startedAt, ms) => calls.push({ kind, startedAt, ms }));
    let rounds = ((await api.call('GET', `/api/projects/${projectId}/rounds`)) as any[]).slice(before);
    printByPhase(calls, await phaseSpans(databaseUrl, projectId));
    const took = rounds
      .filter((r) => r.status === 'succeeded')
      .map((r) => (Date.parse(r.finishedAt) - Date.parse(r.createdAt)) / 1000)
      .sort((a, b) => a - b);
    console.log(`rounds under load: ${took.length} finished, queued-to-finished ${took.map((t) => t.toFixed(1)).join(', ')} s`);
    console.log(
      `with rounds: ${busy.acknowledged} labels, ${rounds.filter((r) => r.status === 'succeeded').length} rounds finished in ${measureSeconds} s; ` +
        `next ${formatLatency(busy.nextLatency)}; submit ${formatLatency(busy.submitLatency)}`,
    );
    const ratio = (a: number[], b: number[]) => percentile(a, 99) / percentile(b, 99);
    check(`queue/next p99 with rounds ≤ ${targets.p99Ratio}× idle`, ratio(busy.nextLatency, idle.nextLatency) <= targets.p99Ratio, `${ratio(busy.nextLatency, idle.nextLatency).toFixed(2)}×`);
    check(`annotations p99 with rounds ≤ ${targets.p99Ratio}× idle`, ratio(busy.submitLatency, idle.submitLatency) <= targets.p99Ratio, `${ratio(busy.submitLatency, idle.submitLatency).toFixed(2)}×`);
    check('no errors under load', busy.errors === 0 && idle.errors === 0, `${idle.errors + busy.errors} errors`);
    // Annotators first, but the loop goes on: rounds that never finish would make any p99 easy.
    check('rounds finish under load', took.length > 0, `${took.length} in ${measureSeconds} s`);

    // Top up to the target number of rounds, back to back, then read each round's tensor count.
    await api.call('PATCH', `/api/projects/${projectId}`, { retrainEvery: 0 });
    await waitForIdle(api, projectId);
    rounds = ((await api.call('GET', `/api/projects/${projectId}/rounds`)) as any[]).slice(before);
    for (let i = rounds.length; i < targets.rounds; i++) {
      await api.call('POST', `/api/projects/${projectId}/rounds`, {});
      await waitForIdle(api, projectId);
    }
    const all = ((await api.call('GET', `/api/projects/${projectId}/rounds`)) as any[]).filter((r) => r.status === 'succeeded');
    const tensors = all.map((r) => (r.log as any[]).find((e) => 'workerTensors' in e)?.workerTensors as number);
    const distinct = [...new Set(tensors)];
    console.log(`worker tensors after each of ${all.length} rounds: ${distinct.join(', ')}`);
    check(`tensors return to baseline after every round (${all.length} rounds)`, all.length >= targets.rounds && distinct.length === 1, `distinct counts: ${distinct.join(', ')}`);
  } finally {
    await server.stop();
  }
}

async function honesty(rows: Row[]): Promise<void> {
  console.log('\n# Honesty: holdout accuracy on the dashboard vs a separate test file (WordNet, 1,500 labels through the API)');
  const order = permutation(rows.length, createRandom(1));
  const testSize = Math.round(rows.length * 0.25);
  const test = order.slice(0, testSize).map((i) => rows[i]);
  const pool = order.slice(testSize).map((i) => rows[i]);
  const databaseUrl = await freshBenchDatabase('loopwise_bench_loop');
  const server = await startBenchServer(databaseUrl);
  try {
    const api = await Api.asAdmin(server, databaseUrl);
    const labels = [...new Set(rows.map((r) => r.label))].sort();
    const project = await api.call('POST', '/api/projects', { name: 'Honesty', kind: 'text', labels: labels.map((name) => ({ name })) });
    const annotator = await annotatorOf(server, databaseUrl, project.id, 'simulated');
    const jsonl = pool.map((row, i) => JSON.stringify({ id: `p${i}`, text: row.text })).join('\n');
    await api.call('POST', `/api/projects/${project.id}/items`, jsonl, { 'Content-Type': 'application/x-ndjson' });
    const truth = new Map(pool.map((row, i) => [`p${i}`, row.label]));
    const budget = Number(process.env.BENCH_BUDGET ?? 1500);
    const started = performance.now();
    await labelFromQueue(annotator, project.id, budget, truth, 'honest');
    await waitForIdle(api, project.id);
    await api.call('POST', `/api/projects/${project.id}/rounds`, {});
    const rounds = await waitForIdle(api, project.id);
    console.log(`${budget} labels and ${rounds.length} rounds in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const dashboard = await api.call('GET', `/api/projects/${project.id}/dashboard`);
    const final = dashboard.curve.at(-1);
    const finalRound = rounds.at(-1);
    if (finalRound.id !== final.roundId) throw new Error('the final round is not on the dashboard');

    const db = openDb(databaseUrl);
    const artifact = await findArtifact(db, final.roundId);
    await db.destroy();
    if (!artifact) throw new Error('the final round has no model');
    await initBackend();
    const model = loadModel(artifact);
    // Texts hashed as the server's ML process hashes them: with the packaged word vectors.
    const wordVectors = loadPackagedWordVectors();
    const probabilities = predictProba(model, test.map((row) => hashText(row.text, { wordVectors })));
    const index = new Map(model.labels.map((label, i) => [label, i]));
    const correct = probabilities.filter((row, i) => row.indexOf(Math.max(...row)) === index.get(test[i].label)).length;
    const testAccuracy = correct / test.length;
    const [low, high] = final.accuracyCi as [number, number];
    console.log(
      `final round ${finalRound.number}: holdout accuracy ${final.accuracy.toFixed(4)} [${low.toFixed(4)}, ${high.toFixed(4)}] on ${final.holdoutLabels} holdout labels ` +
        `(${final.trainLabels} training labels); test file accuracy ${testAccuracy.toFixed(4)} on ${test.length} items`,
    );
    check('test accuracy lies within the holdout confidence interval', testAccuracy >= low && testAccuracy <= high, `${testAccuracy.toFixed(4)} in [${low.toFixed(4)}, ${high.toFixed(4)}]`);
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const rows = loadWordnet();
  const only = values.only;
  if (!only || only === 'latency') await latency(rows);
  if (!only || only === 'isolation') await isolation(rows);
  if (!only || only === 'honesty') await honesty(rows);
  console.log('');
  for (const [name, ok] of checks) console.log(`${verdict(ok)}  ${name}`);
  process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
