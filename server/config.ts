/** The only reader of `process.env`: parses it once into a typed, frozen Config. */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1000).optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  IMPORT_DIR: z.string().min(1).optional(),
  DEMO: z.enum(['auto', 'off']).default('auto'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  PUBLIC_URL: z.url().optional().or(z.literal('').transform(() => undefined)),
});

export interface Config {
  readonly port: number;
  readonly host: string;
  /** Unset means the embedded PGlite database under `dataDir`. */
  readonly databaseUrl: string | undefined;
  /**
   * PostgreSQL connections the server's pool opens at most, shared by all its queries but the
   * batches of labels, which have one more connection of their own (`DatabaseHandle.ownConnectionDb`).
   * By default one per core of this machine and one more: more queries at once than cores only
   * make them wait on each other (annotate benchmark on 2 cores, 3 connections against 10: a fifth
   * less CPU per label in PostgreSQL and the kernel, p99 of queue/next 59–64 → 46–47 ms and of
   * annotations 68–69 → 54–55 ms). A database on a bigger machine of its own may want more.
   */
  readonly databasePoolSize: number;
  readonly dataDir: string;
  /** Image rows may name files only inside this folder. */
  readonly importDir: string;
  /** `auto` loads the demo project into an empty database. */
  readonly demo: 'auto' | 'off';
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Where users reach the server; links (first-run setup) are built on it. */
  readonly publicUrl: string;
  readonly version: string;
}

export function loadConfig(env: Record<string, string | undefined> = process.env, version = '0.0.0'): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid environment:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE ?? os.availableParallelism() + 1,
    dataDir,
    importDir: path.resolve(e.IMPORT_DIR ?? path.join(dataDir, 'import')),
    demo: e.DEMO,
    logLevel: e.LOG_LEVEL,
    publicUrl: (e.PUBLIC_URL ?? `http://${e.HOST === '0.0.0.0' ? 'localhost' : e.HOST}:${e.PORT}`).replace(/\/+$/, ''),
    version,
  });
}
