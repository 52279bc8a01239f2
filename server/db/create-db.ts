/**
 * Opens the database: PostgreSQL over `pg` when a URL is given, else the embedded PGlite
 * (real Postgres compiled to WebAssembly) kept under the data folder. Both sit behind one
 * Kysely instance, so everything above this file runs one code path.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import type { Database } from './schema.js';

export type DatabaseKind = 'pglite' | 'postgres';

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  /**
   * Over a PostgreSQL connection of its own, beside the pool: for a stream of writes that must
   * not queue behind the pool's other queries (batches of labels). The embedded database has one
   * connection, so this is `db` there.
   */
  readonly ownConnectionDb: Kysely<Database>;
  readonly kind: DatabaseKind;
  close(): Promise<void>;
}

export type DatabaseTarget =
  | { url: string; poolSize?: number }
  | { dataDir: string }
  | { pglite: PGlite };

export async function createDb(target: DatabaseTarget): Promise<DatabaseHandle> {
  if ('url' in target) {
    const pool = newPool(target.url, target.poolSize ?? 10);
    // Surface a wrong URL or a stopped server at startup, not at the first request.
    const client = await pool.connect();
    client.release();
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    // Connects on first use, so tools that never store labels never open it.
    const ownConnectionDb = new Kysely<Database>({ dialect: new PostgresDialect({ pool: newPool(target.url, 1) }) });
    return {
      db,
      ownConnectionDb,
      kind: 'postgres',
      close: () => Promise.all([db.destroy(), ownConnectionDb.destroy()]).then(() => undefined),
    };
  }
  let pglite: PGlite;
  if ('pglite' in target) {
    pglite = target.pglite;
  } else {
    const dir = path.join(target.dataDir, 'pglite');
    await mkdir(dir, { recursive: true });
    pglite = new PGlite(dir);
  }
  await pglite.waitReady;
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  return { db, ownConnectionDb: db, kind: 'pglite', close: () => db.destroy() };
}

function newPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  // An idle connection that the server drops (restart, failover) must not crash the process;
  // the pool replaces it on the next checkout.
  pool.on('error', (err) => console.error('database connection lost:', err.message));
  return pool;
}
