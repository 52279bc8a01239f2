/**
 * Runs once per test run: migrates a template database for each backend, so every test file
 * starts from a fresh, migrated copy in about a second (PGlite from a dump of its data folder,
 * PostgreSQL with CREATE DATABASE … TEMPLATE).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrateToLatest } from '../../server/db/migrate.js';
import { loadPackagedWordVectors } from '../../server/repositories/word-vectors.repository.js';
import { templateDatabaseName } from './test-db-names.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteDumpPath: string;
    postgresUrl: string | null;
  }
}

export default async function setup(project: TestProject) {
  // Converts the packaged word vectors once (on a fresh install), not in every test's ML process.
  loadPackagedWordVectors();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'loopwise-test-'));
  const pglite = new PGlite();
  const db = new Kysely<any>({ dialect: new PGliteDialect(pglite) });
  await migrateToLatest(db);
  const dump = await pglite.dumpDataDir('none');
  const dumpPath = path.join(dir, 'template.tar');
  await writeFile(dumpPath, Buffer.from(await dump.arrayBuffer()));
  await db.destroy();
  project.provide('pgliteDumpPath', dumpPath);

  const url = process.env.TEST_DATABASE_URL || null;
  if (url) await createPostgresTemplate(url);
  project.provide('postgresUrl', url);

  return async () => {
    await rm(dir, { recursive: true, force: true });
  };
}

async function createPostgresTemplate(adminUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${templateDatabaseName} with (force)`);
  await admin.query(`create database ${templateDatabaseName}`);
  await admin.end();
  const pool = new pg.Pool({ connectionString: withDatabase(adminUrl, templateDatabaseName), max: 1 });
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
  await migrateToLatest(db);
  await db.destroy();
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
