/** A fresh, migrated database per test file, on PGlite always and on PostgreSQL when configured. */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { inject } from 'vitest';
import { createDb, type DatabaseHandle, type DatabaseKind } from '../../server/db/create-db.js';
import { withDatabase } from './global-setup.js';
import { templateDatabaseName } from './test-db-names.js';

/** The backends this run tests against: PGlite, plus PostgreSQL when TEST_DATABASE_URL is set. */
export function testDatabaseKinds(): DatabaseKind[] {
  return inject('postgresUrl') ? ['pglite', 'postgres'] : ['pglite'];
}

/** PostgreSQL connections in a test database's pool. */
export const testPoolSize = 5;

export async function openTestDb(kind: DatabaseKind = 'pglite'): Promise<DatabaseHandle> {
  if (kind === 'pglite') {
    const dump = await readFile(inject('pgliteDumpPath'));
    const pglite = new PGlite({ loadDataDir: new Blob([dump]) });
    return createDb({ pglite });
  }
  const adminUrl = inject('postgresUrl');
  if (!adminUrl) throw new Error('TEST_DATABASE_URL is not set');
  const name = `loopwise_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name} template ${templateDatabaseName}`);
  await admin.end();
  const handle = await createDb({ url: withDatabase(adminUrl, name), poolSize: testPoolSize });
  return {
    ...handle,
    async close() {
      await handle.close();
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      await cleanup.query(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}
