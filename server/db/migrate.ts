/**
 * Runs the migrations in `migrations/` in timestamp order. As a CLI (`npm run db:migrate`)
 * it prints every result and exits non-zero on failure.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pathToFileURL } from 'node:url';
import { type Kysely, type Migration, type MigrationProvider, type MigrationResultSet, Migrator } from 'kysely';

const migrationFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/**
 * Like Kysely's FileMigrationProvider, but the import happens here, so whatever loads this
 * module for TypeScript (tsx, the test runner) also loads the `.ts` migrations.
 */
const folderProvider: MigrationProvider = {
  async getMigrations() {
    const migrations: Record<string, Migration> = {};
    for (const file of (await fs.readdir(migrationFolder)).sort()) {
      if (!/^\d{14}_[\w-]+\.(ts|js|mjs)$/.test(file)) continue;
      migrations[file.replace(/\.\w+$/, '')] = (await import(pathToFileURL(path.join(migrationFolder, file)).href)) as Migration;
    }
    return migrations;
  },
};

export function createMigrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: folderProvider });
}

/** Migrates to the latest version; throws with the failing migration's name when one fails. */
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResultSet> {
  const resultSet = await createMigrator(db).migrateToLatest();
  if (resultSet.error) {
    const failed = resultSet.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`Migration ${failed} failed: ${String(resultSet.error)}`, { cause: resultSet.error });
  }
  return resultSet;
}

async function runCli(): Promise<void> {
  const { loadConfig } = await import('../config.js');
  const { createDb } = await import('./create-db.js');
  const config = loadConfig();
  const handle = await createDb(config.databaseUrl ? { url: config.databaseUrl } : { dataDir: config.dataDir });
  const where = handle.kind === 'postgres' ? 'PostgreSQL' : `embedded database in ${config.dataDir}`;
  console.log(`Migrating ${where}`);
  const { error, results } = await createMigrator(handle.db).migrateToLatest();
  for (const r of results ?? []) {
    console.log(`${r.status === 'Success' ? 'applied' : r.status === 'Error' ? 'FAILED ' : 'skipped'}  ${r.migrationName}`);
  }
  if (results?.length === 0 && !error) console.log('already up to date');
  await handle.close();
  if (error) {
    console.error('Migration failed:', error);
    process.exit(1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runCli().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
