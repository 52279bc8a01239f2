/**
 * `npm run bench:annotate`: 50 simulated annotators loop next → submit for 60 s against a
 * 1,000,000-item scored project in PostgreSQL. Prints throughput and latency percentiles and
 * checks that no item was leased to two annotators at once and every acknowledged label is
 * stored exactly once. Targets: p99 < 30 ms for both calls, ≥ 1,500 labels/s.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { benchUsers, freshBenchDatabase, startBenchServer, verdict } from './bench-server.js';

const items = Number(process.env.BENCH_ITEMS ?? 1_000_000);
const annotators = Number(process.env.BENCH_ANNOTATORS ?? 50);
const seconds = Number(process.env.BENCH_SECONDS ?? 60);
const batch = Number(process.env.BENCH_BATCH ?? 5);
const targets = { p99Ms: 30, labelsPerSecond: 1500 };

interface Lease {
  itemId: number;
  annotator: string;
  from: number;
  to: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function seed(databaseUrl: string): Promise<{ projectId: number; labels: string[] }> {
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: 1 }) }) });
  const { project_id: projectId } = await db
    .insertInto('project')
    .values({ name: 'Annotate benchmark', kind: 'text', guidelines: '' })
    .returning('project_id')
    .executeTakeFirstOrThrow();
  const labels = ['billing', 'bug', 'other'];
  await db
    .insertInto('label')
    .values(labels.map((name, position) => ({ project_id: projectId, name, position })))
    .execute();
  console.log(`Seeding ${items.toLocaleString('en')} scored items…`);
  await sql`
    insert into item (project_id, external_id, text, random_key, holdout, score, score_strategy, suggestion_confidence)
    select ${projectId}, 'b' || g, 'customer message number ' || g || ' about an order that did not arrive', r, r < 0.1,
           random(), 'margin', 0.5
    from (select g, random() as r from generate_series(1, ${items}) g) s`.execute(db);
  await sql`analyze item`.execute(db);
  await db.destroy();
  return { projectId, labels };
}

async function main(): Promise<void> {
  const databaseUrl = await freshBenchDatabase('loopwise_bench_annotate');
  const server = await startBenchServer(databaseUrl);
  const { projectId, labels } = await seed(databaseUrl);
  // Each simulated annotator is a user of its own; the server records labels under the user.
  const names = Array.from({ length: annotators }, (_, i) => `annotator-${i}@bench.test`);
  const tokens = await benchUsers(databaseUrl, names, 'annotator', projectId);
  const nextLatency: number[] = [];
  const submitLatency: number[] = [];
  const leases = new Map<number, Lease[]>();
  const acknowledged = new Map<string, number>();
  let conflicts = 0;
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;

  // node:http with keep-alive: a load generator several times cheaper than fetch, so the
  // benchmark measures the server rather than the client sharing its two cores.
  const agent = new http.Agent({ keepAlive: true, maxSockets: annotators });
  const { hostname, port } = new URL(server.url);
  const post = (path: string, body: unknown, headers: Record<string, string>) =>
    new Promise<{ status: number; json: any; ms: number }>((resolve, reject) => {
      const started = performance.now();
      const payload = JSON.stringify(body);
      const req = http.request(
        { agent, hostname, port, path, method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload), ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()), ms: performance.now() - started }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });

  const annotator = async (name: string) => {
    while (performance.now() < deadline) {
      const auth = { Authorization: `Bearer ${tokens.get(name)}` };
      const next = await post(`/api/projects/${projectId}/queue/next`, { n: batch }, auth);
      nextLatency.push(next.ms);
      if (next.status !== 200) {
        errors += 1;
        continue;
      }
      const leasedAt = Date.now();
      for (const item of next.json.items as Array<{ id: number }>) {
        const key = randomUUID();
        const submit = await post(
          `/api/items/${item.id}/annotations`,
          { label: labels[item.id % labels.length], durationMs: 900 },
          { ...auth, 'Idempotency-Key': key },
        );
        submitLatency.push(submit.ms);
        const list = leases.get(item.id) ?? [];
        list.push({ itemId: item.id, annotator: name, from: leasedAt, to: Date.now() });
        leases.set(item.id, list);
        if (submit.status === 201) acknowledged.set(key, item.id);
        else if (submit.status === 409) conflicts += 1;
        else errors += 1;
        if (performance.now() >= deadline) break;
      }
    }
  };

  console.log(`${annotators} annotators for ${seconds} s (next n=${batch})…`);
  const started = performance.now();
  await Promise.all(names.map((name) => annotator(name)));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  await server.stop();

  // Double leases: two annotators holding one item over overlapping intervals.
  let doubleLeases = 0;
  for (const list of leases.values()) {
    if (list.length > 1) {
      for (let i = 0; i < list.length; i++)
        for (let j = i + 1; j < list.length; j++)
          if (list[i].annotator !== list[j].annotator && list[i].from < list[j].to && list[j].from < list[i].to) doubleLeases += 1;
    }
  }
  // Every acknowledged label is in the database exactly once, and nothing else is.
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: 1 }) }) });
  const stored = await db
    .selectFrom('annotation')
    .select(['idempotency_key', 'item_id'])
    .where('project_id', '=', projectId)
    .execute();
  await db.destroy();
  const storedKeys = new Map<string, number>();
  for (const row of stored) storedKeys.set(row.idempotency_key, (storedKeys.get(row.idempotency_key) ?? 0) + 1);
  const lost = [...acknowledged.keys()].filter((key) => storedKeys.get(key) !== 1).length;
  const unexpected = stored.length - acknowledged.size;

  nextLatency.sort((a, b) => a - b);
  submitLatency.sort((a, b) => a - b);
  const rate = acknowledged.size / elapsed;
  const fmt = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(1)} ms, p95 ${percentile(xs, 95).toFixed(1)} ms, p99 ${percentile(xs, 99).toFixed(1)} ms`;
  console.log(`labels:       ${acknowledged.size.toLocaleString('en')} in ${elapsed.toFixed(1)} s = ${Math.round(rate)} labels/s (409s: ${conflicts}, errors: ${errors})`);
  console.log(`queue/next:   ${nextLatency.length} calls, ${fmt(nextLatency)}`);
  console.log(`annotations:  ${submitLatency.length} calls, ${fmt(submitLatency)}`);
  console.log(`double leases: ${doubleLeases}; acknowledged but not stored exactly once: ${lost}; stored but never acknowledged: ${unexpected}`);
  const checks = [
    [`queue/next p99 < ${targets.p99Ms} ms`, percentile(nextLatency, 99) < targets.p99Ms],
    [`annotations p99 < ${targets.p99Ms} ms`, percentile(submitLatency, 99) < targets.p99Ms],
    [`≥ ${targets.labelsPerSecond} labels/s`, rate >= targets.labelsPerSecond],
    ['zero double leases', doubleLeases === 0],
    ['zero lost or duplicated labels', lost === 0 && unexpected === 0 && errors === 0],
  ] as const;
  for (const [name, ok] of checks) console.log(`${verdict(ok)}  ${name}`);
  process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
