/**
 * `npm run bench:annotate`: 50 simulated annotators loop next → submit for 60 s against a
 * 1,000,000-item scored project in PostgreSQL. Prints throughput and latency percentiles and
 * checks that no item was leased to two annotators at once and every acknowledged label is
 * stored exactly once. Targets: p99 < 30 ms for both calls, ≥ 1,500 labels/s.
 *
 * The same annotators first label for BENCH_WARMUP seconds (default 5), reported apart: a server
 * that has just started opens its database connections, fills its caches and compiles its hot
 * code while the first calls wait, which a running server has done long before. They go on
 * labeling from the warm-up into the measured seconds without a break; calls count in the part
 * in which they were sent. The warm-up's labels count in the exactly-once and single-lease checks
 * like all others.
 *
 * Besides the totals, each 10 s of the measured run gets its labels per second and the p99 of
 * both calls, so that a run that slows down as it goes shows when, and PostgreSQL's write-ahead
 * log in the same 10 s (megabytes, full-page images, checkpoints begun), which tells a window
 * slowed by a checkpoint from one slowed by the machine.
 *
 * BENCH_RATE=<labels/s> has the annotators offer that many labels per second together on a fixed
 * schedule instead of calling flat out; each call's latency then counts from when it was due. The
 * latencies are those of a server at that load rather than at its limit, and labels/s is not
 * judged, since the annotators set it.
 *
 * `-- --floor` runs the same annotators against floor-server.ts instead: the two routes on the
 * server's HTTP layer answering at once, with nothing behind them. What the load generator and
 * the HTTP layer cost on this machine is then apart from what the server's own work costs.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { formatLatency, type LoadOptions, type LoadResult, percentile, runAnnotators } from './annotator-load.js';
import { type CallWindow, CallWindows } from './call-windows.js';
import { DecisionLog } from './decision-log.js';
import { type WalWindow, WalWindows } from './wal-windows.js';
import {
  type BenchServer,
  benchUsers,
  freshBenchDatabase,
  machineCpuMs,
  type MainThreadMs,
  startBenchServer,
  startFloorServer,
  verdict,
} from './bench-server.js';

const items = Number(process.env.BENCH_ITEMS ?? 1_000_000);
const annotators = Number(process.env.BENCH_ANNOTATORS ?? 50);
const seconds = Number(process.env.BENCH_SECONDS ?? 60);
const batch = Number(process.env.BENCH_BATCH ?? 5);
const warmupSeconds = Number(process.env.BENCH_WARMUP ?? 5);
const offeredRate = process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : undefined;
if (offeredRate !== undefined && !(offeredRate > 0)) {
  throw new Error(`BENCH_RATE is "${process.env.BENCH_RATE}": it must be a number of labels per second above 0`);
}
const targets = { p99Ms: 30, labelsPerSecond: 1500 };
const windowSeconds = 10;

async function seed(databaseUrl: string): Promise<{ projectId: number; labels: string[] }> {
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: 1 }) }) });
  // The automatic retraining loop stays off: annotators under rounds are bench:loop's isolation check.
  const { project_id: projectId } = await db
    .insertInto('project')
    .values({ name: 'Annotate benchmark', kind: 'text', guidelines: '', retrain_every: 0 })
    .returning('project_id')
    .executeTakeFirstOrThrow();
  const labels = ['billing', 'bug', 'other'];
  await db
    .insertInto('label')
    .values(labels.map((name, position) => ({ project_id: projectId, name, position })))
    .execute();
  console.log(`Seeding ${items.toLocaleString('en')} scored items…`);
  await sql`
    insert into item (project_id, external_id, text, random_key, holdout, score, priority, score_strategy, suggestion_confidence)
    select ${projectId}, 'b' || g, 'customer message number ' || g || ' about an order that did not arrive', r, r < 0.1,
           r2, r2, 'margin', 0.5
    from (select g, random() as r, random() as r2 from generate_series(1, ${items}) g) s`.execute(db);
  await sql`analyze item`.execute(db);
  await db.destroy();
  return { projectId, labels };
}

/** CPU time in ms, the server's, the load generator's (this process) and the machine's: read as totals, then spent during the measured run. */
interface CpuSpent {
  server: number;
  loadGenerator: number;
  machineBusy: number;
  machineTotal: number;
  /** The server's event loop: one thread, so what it cannot keep up with waits however idle the other cores are. */
  serverMainThread: MainThreadMs | undefined;
}

/** The CPU clocks as they read now (totals so far, in ms). */
function readCpu(server: BenchServer): CpuSpent {
  const own = process.cpuUsage();
  const machine = machineCpuMs();
  return {
    server: server.cpuMs(),
    loadGenerator: (own.user + own.system) / 1000,
    machineBusy: machine.busy,
    machineTotal: machine.total,
    serverMainThread: server.mainThreadMs(),
  };
}

/** What was spent between two readings of the clocks. */
function spentSince(before: CpuSpent, after: CpuSpent): CpuSpent {
  const [threadBefore, threadAfter] = [before.serverMainThread, after.serverMainThread];
  return {
    server: after.server - before.server,
    loadGenerator: after.loadGenerator - before.loadGenerator,
    machineBusy: after.machineBusy - before.machineBusy,
    machineTotal: after.machineTotal - before.machineTotal,
    serverMainThread:
      threadBefore && threadAfter
        ? { running: threadAfter.running - threadBefore.running, waitingForCore: threadAfter.waitingForCore - threadBefore.waitingForCore }
        : undefined,
  };
}

/**
 * Runs the annotators through the warm-up and on for the measured `seconds`; prints the warm-up.
 * `wal`, when given, reads PostgreSQL's log per window of the measured seconds.
 */
async function warmThenMeasure(
  server: BenchServer,
  options: Omit<LoadOptions, 'seconds' | 'warmupSeconds' | 'onMeasuring' | 'onCall'>,
  wal?: WalWindows,
): Promise<{ warmup: LoadResult; load: LoadResult; cpu: CpuSpent; loadGeneratorGcMs: number[]; windows: CallWindow[]; walWindows?: WalWindow[] }> {
  // While the load generator collects garbage it reads no answers: those pauses count as latency.
  const loadGeneratorGcMs: number[] = [];
  const gc = new PerformanceObserver((list) => list.getEntries().forEach((entry) => loadGeneratorGcMs.push(entry.duration)));
  let before: CpuSpent | undefined;
  let windows: CallWindows | undefined;
  const { warmup, ...load } = await runAnnotators({
    ...options,
    seconds,
    warmupSeconds,
    onMeasuring: () => {
      gc.observe({ entryTypes: ['gc'] });
      before = readCpu(server);
      windows = new CallWindows(Date.now(), seconds * 1000, windowSeconds * 1000);
      wal?.start(windowSeconds * 1000);
    },
    onCall: (kind, startedAt, ms, status) => windows?.add(kind, startedAt, ms, status),
  });
  gc.disconnect();
  const cpu = spentSince(before!, readCpu(server));
  const walWindows = await wal?.stop();
  console.log(
    `warm-up:      the first ${warmupSeconds} s of load on the freshly started server, not in the figures below: ${warmup.acknowledged.toLocaleString('en')} labels; ` +
      `queue/next p99 ${percentile(warmup.nextLatency, 99).toFixed(1)} ms, annotations p99 ${percentile(warmup.submitLatency, 99).toFixed(1)} ms`,
  );
  return { warmup, load, cpu, loadGeneratorGcMs, windows: windows!.summary(), walWindows };
}

/** One figure of each window, in order. */
const row = <W>(windows: W[], figure: (w: W) => string) => windows.map(figure).join(' · ');

/** Prints throughput, latencies and where the CPU went; answers labels per second. */
function report(load: LoadResult, windows: CallWindow[], cpu: CpuSpent, loadGeneratorGcMs: number[], walWindows?: WalWindow[]): number {
  const rate = load.acknowledged / load.elapsed;
  console.log(`labels:       ${load.acknowledged.toLocaleString('en')} in ${load.elapsed.toFixed(1)} s = ${Math.round(rate)} labels/s (409s: ${load.conflicts}, errors: ${load.errors})`);
  console.log(`queue/next:   ${load.nextLatency.length} calls, ${formatLatency(load.nextLatency)}`);
  console.log(`annotations:  ${load.submitLatency.length} calls, ${formatLatency(load.submitLatency)}`);
  console.log(
    `per ${windowSeconds} s:     labels/s ${row(windows, (w) => Math.round(w.labelsPerSecond).toLocaleString('en'))}; ` +
      `queue/next p99 ${row(windows, (w) => w.nextP99.toFixed(1))} ms; annotations p99 ${row(windows, (w) => w.submitP99.toFixed(1))} ms`,
  );
  if (walWindows) {
    console.log(
      `PostgreSQL's log per ${windowSeconds} s: MB ${row(walWindows, (w) => w.megabytes.toFixed(0))}; ` +
        `full-page images/s ${row(walWindows, (w) => Math.round(w.fullPageImagesPerSecond).toLocaleString('en'))}; ` +
        `checkpoints begun ${row(walWindows, (w) => String(w.checkpoints))}`,
    );
  }
  if (offeredRate) {
    console.log(`offered:      ${offeredRate} labels/s on a fixed schedule; each latency counts from when its call was due`);
  } else {
    // Annotators wait for each answer before the next call, so the mean latency follows from the
    // call rate (Little's law): what a p99 target asks of throughput.
    const callRate = (load.nextLatency.length + load.submitLatency.length) / load.elapsed;
    console.log(`closed loop:  ${annotators} annotators / ${Math.round(callRate)} calls/s = ${((annotators / callRate) * 1000).toFixed(1)} ms mean time per call`);
  }
  // What each label costs the machine is steadier from run to run than the latencies, which move
  // with how busy the cores are; the load generator shares the cores that annotators' browsers would not.
  const perLabel = (ms: number) => `${((ms / Math.max(1, load.acknowledged)) * 1000).toFixed(0)} µs`;
  const rest = cpu.machineBusy - cpu.server - cpu.loadGenerator;
  console.log(
    `CPU per label: server ${perLabel(cpu.server)}, load generator ${perLabel(cpu.loadGenerator)}, rest of the machine (PostgreSQL, kernel) ${perLabel(rest)}; ` +
      `cores busy ${((100 * cpu.machineBusy) / cpu.machineTotal).toFixed(0)} %`,
  );
  const thread = cpu.serverMainThread;
  if (thread) {
    const share = (ms: number) => `${((100 * ms) / (load.elapsed * 1000)).toFixed(0)} %`;
    console.log(`server's main thread: on a core ${share(thread.running)}, waiting for one ${share(thread.waitingForCore)} of the time (it runs the whole event loop)`);
  }
  console.log(
    `load generator's garbage collection: ${loadGeneratorGcMs.length} pauses, ${Math.round(loadGeneratorGcMs.reduce((a, b) => a + b, 0))} ms in all, ` +
      `longest ${Math.max(0, ...loadGeneratorGcMs).toFixed(1)} ms (no answer is read meanwhile)`,
  );
  return rate;
}

async function floor(): Promise<void> {
  const server = await startFloorServer();
  console.log(`Floor: ${annotators} annotators for ${seconds} s (next n=${batch}) against the HTTP layer alone (no authentication, validation or database)…`);
  const tokens = new Map(Array.from({ length: annotators }, (_, i) => [`annotator-${i}@bench.test`, 'none']));
  const { load, windows, cpu, loadGeneratorGcMs } = await warmThenMeasure(server, { url: server.url, projectId: 1, annotators: tokens, batch, labelFor: () => 'billing' });
  await server.stop();
  report(load, windows, cpu, loadGeneratorGcMs);
  console.log(`The load generator and HTTP layer alone; the server's targets are p99 < ${targets.p99Ms} ms and ≥ ${targets.labelsPerSecond} labels/s.`);
}

async function main(): Promise<void> {
  const databaseUrl = await freshBenchDatabase('loopwise_bench_annotate');
  const server = await startBenchServer(databaseUrl);
  const { projectId, labels } = await seed(databaseUrl);
  // Each simulated annotator is a user of its own; the server records labels under the user.
  const names = Array.from({ length: annotators }, (_, i) => `annotator-${i}@bench.test`);
  const tokens = await benchUsers(databaseUrl, names, 'annotator', projectId);
  const pace = offeredRate ? `, offering ${offeredRate} labels/s together` : '';
  console.log(`${annotators} annotators for ${seconds} s after a ${warmupSeconds} s warm-up (next n=${batch}${pace})…`);
  const decisions = new DecisionLog();
  const { warmup, load, windows, cpu, loadGeneratorGcMs, walWindows } = await warmThenMeasure(
    server,
    {
      url: server.url,
      projectId,
      annotators: tokens,
      batch,
      labelFor: (item) => labels[item.id % labels.length],
      decisions,
      labelsPerSecond: offeredRate,
    },
    await WalWindows.connect(databaseUrl),
  );
  await server.stop();

  const doubleLeases = decisions.countDoubleLeases();
  const acknowledged = [...decisions.acknowledgedKeys()];
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
  const lost = acknowledged.filter((key) => storedKeys.get(key) !== 1).length;
  const unexpected = stored.length - acknowledged.length;

  const rate = report(load, windows, cpu, loadGeneratorGcMs, walWindows);
  console.log(`double leases: ${doubleLeases}; acknowledged but not stored exactly once: ${lost}; stored but never acknowledged: ${unexpected}`);
  const checks = [
    [`queue/next p99 < ${targets.p99Ms} ms`, percentile(load.nextLatency, 99) < targets.p99Ms],
    [`annotations p99 < ${targets.p99Ms} ms`, percentile(load.submitLatency, 99) < targets.p99Ms],
    ...(offeredRate ? [] : [[`≥ ${targets.labelsPerSecond} labels/s`, rate >= targets.labelsPerSecond] as const]),
    ['zero double leases', doubleLeases === 0],
    ['zero lost or duplicated labels', lost === 0 && unexpected === 0 && warmup.errors + load.errors === 0],
  ] as const;
  for (const [name, ok] of checks) console.log(`${verdict(ok)}  ${name}`);
  process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;
}

(process.argv.includes('--floor') ? floor() : main()).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
