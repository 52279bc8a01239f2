/**
 * `npm run bench:import`: generates a 1,000,000-row JSON Lines file and imports it through the
 * HTTP API into PostgreSQL, then imports it again. Targets: ≥ 25,000 rows/s, server RSS under
 * 400 MB throughout, and 0 new rows on the re-import.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { benchUsers, freshBenchDatabase, startBenchServer, verdict } from './bench-server.js';

const rows = Number(process.env.BENCH_ROWS ?? 1_000_000);
const targets = { rowsPerSecond: 25_000, rssMiB: 400 };
/** The admin API token the benchmark acts with. */
let token = '';
const words = 'the a refund card charged twice app crash login password invoice shipping late order broken screen account locked email update'.split(' ');

async function writeFile(file: string): Promise<void> {
  const out = createWriteStream(file);
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let i = 0; i < rows; i++) {
    const n = 8 + Math.floor(rand() * 12);
    let text = '';
    for (let w = 0; w < n; w++) text += (w ? ' ' : '') + words[Math.floor(rand() * words.length)];
    const label = i % 10 === 0 ? `,"label":"${['billing', 'bug', 'other'][i % 3]}"` : '';
    if (!out.write(`{"id":"r${i}","text":"${text} ${i}"${label}}\n`)) await once(out, 'drain');
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

async function upload(url: string, file: string, sampleRss: () => void) {
  const timer = setInterval(sampleRss, 100);
  const started = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-ndjson', Authorization: `Bearer ${token}` },
    body: createReadStream(file) as unknown as RequestInit['body'],
    duplex: 'half',
  } as RequestInit);
  const body = (await res.json()) as { imported: number; duplicates: number; failed: number };
  clearInterval(timer);
  if (!res.ok) throw new Error(`import answered ${res.status}: ${JSON.stringify(body)}`);
  return { seconds: (performance.now() - started) / 1000, ...body };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'loopwise-bench-'));
  const file = path.join(dir, 'items.jsonl');
  console.log(`Generating ${rows.toLocaleString('en')} rows…`);
  await writeFile(file);
  console.log(`  ${((await stat(file)).size / 1024 / 1024).toFixed(0)} MiB at ${file}`);

  const databaseUrl = await freshBenchDatabase('loopwise_bench_import');
  const server = await startBenchServer(databaseUrl);
  token = (await benchUsers(databaseUrl, ['admin@bench.test'], 'admin')).get('admin@bench.test')!;
  const startRss = server.rssMiB();
  let peakRss = startRss;
  const sampleRss = () => {
    peakRss = Math.max(peakRss, server.rssMiB());
  };
  try {
    const created = await fetch(`${server.url}/api/projects`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: 'Import benchmark', kind: 'text', labels: [{ name: 'billing' }, { name: 'bug' }, { name: 'other' }] }),
    });
    const { id } = (await created.json()) as { id: number };
    const url = `${server.url}/api/projects/${id}/items`;

    const first = await upload(url, file, sampleRss);
    const rate = first.imported / first.seconds;
    console.log(`First import:  ${first.imported.toLocaleString('en')} rows in ${first.seconds.toFixed(1)} s = ${Math.round(rate).toLocaleString('en')} rows/s (failed ${first.failed})`);
    const again = await upload(url, file, sampleRss);
    console.log(`Re-import:     ${again.imported} new rows, ${again.duplicates.toLocaleString('en')} duplicates in ${again.seconds.toFixed(1)} s`);
    console.log(`Server RSS:    ${startRss.toFixed(0)} MiB at start, peak ${peakRss.toFixed(0)} MiB`);
    const pageStarted = performance.now();
    const page = await fetch(`${server.url}/api/projects/${id}/items?limit=50&cursor=${Buffer.from(`i${rows - 100}`).toString('base64url')}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    const pageMs = performance.now() - pageStarted;
    console.log(`Deep page:     items ${rows - 99}…${rows} answered ${page.status} in ${pageMs.toFixed(1)} ms`);

    const checks = [
      [`throughput ≥ ${targets.rowsPerSecond.toLocaleString('en')} rows/s`, rate >= targets.rowsPerSecond && first.imported === rows],
      [`server RSS < ${targets.rssMiB} MB`, peakRss < targets.rssMiB],
      ['re-import adds 0 rows', again.imported === 0 && again.duplicates === rows],
    ] as const;
    for (const [name, ok] of checks) console.log(`${verdict(ok)}  ${name}`);
    process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
