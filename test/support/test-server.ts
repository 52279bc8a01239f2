/** A real server on a random local port over a fresh embedded database, serving the built web app. */
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { createApp } from '../../server/app.js';
import type { DatabaseHandle } from '../../server/db/create-db.js';
import { openTestDb } from './test-db.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface TestServer {
  url: string;
  database: DatabaseHandle;
  close(): Promise<void>;
}

export async function startTestServer(options: { importDir?: string } = {}): Promise<TestServer> {
  const database = await openTestDb('pglite');
  const app = createApp({
    db: database.db,
    databaseKind: database.kind,
    tfjsBackend: 'cpu',
    version: 'test',
    importDir: options.importDir ?? path.join(root, 'test', 'fixtures', 'import'),
    webBuildDir: path.join(root, 'web', 'build'),
    log: () => undefined,
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    database,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await database.close();
    },
  };
}
