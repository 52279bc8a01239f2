/**
 * Runs the real server in a child process against a fresh PostgreSQL database for benchmarks,
 * so its memory can be measured apart from the load generator.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface BenchServer {
  url: string;
  pid: number;
  /** Resident memory of the server process, in MiB. */
  rssMiB(): number;
  /** CPU time the server process has used so far, in ms. */
  cpuMs(): number;
  /** Time the server's main thread (its event loop) has spent on a core and waiting for one, in ms; undefined where Linux does not keep it. */
  mainThreadMs(): MainThreadMs | undefined;
  stop(): Promise<void>;
}

export interface MainThreadMs {
  running: number;
  waitingForCore: number;
}

export async function freshBenchDatabase(name: string): Promise<string> {
  const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const admin = new pg.Client({ connectionString: adminUrl });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`This benchmark needs PostgreSQL (${adminUrl}): ${(err as Error).message}`);
  }
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function startBenchServer(databaseUrl: string, env: Record<string, string> = {}): Promise<BenchServer> {
  const migrate = spawn(process.execPath, ['--import', 'tsx', 'server/db/migrate.ts'], {
    cwd: repoRoot,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: 'inherit',
  });
  if ((await exited(migrate)) !== 0) throw new Error('migrations failed');
  // Exactly what `npm start` runs after building the web app, so memory is measured as users run it.
  const { scripts } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: { serve: string } };
  return spawnServer(`exec ${scripts.serve}`, { DATABASE_URL: databaseUrl, DEMO: 'off', ...env });
}

/** The floor server of `bench:annotate -- --floor` (floor-server.ts), in a process of its own. */
export function startFloorServer(): Promise<BenchServer> {
  return spawnServer(`exec "${process.execPath}" --import tsx test/bench/floor-server.ts`, {});
}

/** Runs `command` with a free PORT and waits until its `/api/health` answers OK. */
async function spawnServer(command: string, env: Record<string, string>): Promise<BenchServer> {
  const port = await freePort();
  const child = spawn('sh', ['-c', command], {
    cwd: repoRoot,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${url}/api/health`)).ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
    if (child.exitCode !== null) throw new Error('server exited during startup');
  }
  return {
    url,
    pid: child.pid!,
    rssMiB: () => readRssMiB(child.pid!),
    cpuMs: () => readCpuMs(child.pid!),
    mainThreadMs: () => readMainThreadMs(child.pid!),
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
    },
  };
}

function readRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** User + system CPU time of a process (its threads included), from /proc/<pid>/stat, in ms. */
function readCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicksPerSecond;
}

/** From /proc/<pid>/schedstat, which is the main thread's: nanoseconds on a core, then waiting in a run queue. */
function readMainThreadMs(pid: number): MainThreadMs | undefined {
  try {
    const [running, waiting] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return Number.isFinite(running) && Number.isFinite(waiting) ? { running: running / 1e6, waitingForCore: waiting / 1e6 } : undefined;
  } catch {
    return undefined;
  }
}

/** Busy and total CPU time of the whole machine (all cores), from /proc/stat, in ms. */
export function machineCpuMs(): { busy: number; total: number } {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = ticks.map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: (busy * 1000) / clockTicksPerSecond, total: ((busy + idle + iowait) * 1000) / clockTicksPerSecond };
}

/** USER_HZ: 100 on every Linux this runs on. */
const clockTicksPerSecond = 100;

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.on('exit', resolve));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export function verdict(pass: boolean): string {
  return pass ? 'PASS' : 'FAIL';
}

/**
 * Users the benchmark acts as, created straight in the database through the server's services:
 * each gets an API token, and a membership with `role` when a project is given.
 */
export async function benchUsers(
  databaseUrl: string,
  emails: string[],
  role: 'admin' | 'lead' | 'engineer' | 'annotator',
  projectId?: number,
): Promise<Map<string, string>> {
  const { createDb } = await import('../../server/db/create-db.js');
  const { createServices } = await import('../../server/app.js');
  const database = await createDb({ url: databaseUrl, poolSize: 2 });
  const services = createServices({ db: database.db, importDir: repoRoot });
  const tokens = new Map<string, string>();
  try {
    for (const email of emails) {
      const user = await services.users.create({ email, password: null, role, projectId: role === 'admin' ? undefined : projectId }, 'bench');
      const { token } = await services.tokens.create({ userId: user.id, email: user.email }, { name: 'bench', role, expiresInDays: 1 });
      tokens.set(email, token);
    }
  } finally {
    await database.close();
  }
  return tokens;
}
