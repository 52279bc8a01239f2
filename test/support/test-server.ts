/** A real server on a random local port over a fresh embedded database, serving the built web app. */
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { createApp, createJobRunner, createServices } from '../../server/app.js';
import type { DatabaseHandle } from '../../server/db/create-db.js';
import { openTestDb } from './test-db.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface TestServer {
  url: string;
  database: DatabaseHandle;
  close(): Promise<void>;
}

/** With `jobs`, the background loop runs as in the real server (retraining rounds, scoring runs). */
export async function startTestServer(options: { importDir?: string; jobs?: boolean } = {}): Promise<TestServer> {
  const database = await openTestDb('pglite');
  const importDir = options.importDir ?? path.join(root, 'test', 'fixtures', 'import');
  const services = createServices({ db: database.db, importDir });
  const jobs = options.jobs ? createJobRunner(database.db, services, { pollMs: 300, log: () => undefined }) : undefined;
  jobs?.start();
  const app = createApp({
    services,
    db: database.db,
    databaseKind: database.kind,
    tfjsBackend: 'cpu',
    version: 'test',
    importDir,
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
      // Event streams stay open until their clients go; end them with the server.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      await closed;
      await jobs?.stop();
      await services.roundWorker.close();
      await database.close();
    },
  };
}
