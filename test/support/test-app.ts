/** The app over a fresh database, driven with `app.request()`; no port is opened. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp, createJobRunner, createServices, type Services } from '../../server/app.js';
import type { JobRunner } from '../../server/jobs/job-runner.js';
import type { DatabaseHandle, DatabaseKind } from '../../server/db/create-db.js';
import { openTestDb } from './test-db.js';

export const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');

export interface TestApp {
  app: ReturnType<typeof createApp>;
  database: DatabaseHandle;
  services: Services;
  /** The background job loop, not started: tests drive it with `runOnce()`. */
  jobs: JobRunner;
  /** Sends JSON (or a raw body with its content type) and answers the status and parsed body. */
  call(method: string, url: string, body?: unknown, contentType?: string): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function createTestApp(kind: DatabaseKind = 'pglite'): Promise<TestApp> {
  const database = await openTestDb(kind);
  const importDir = path.join(fixturesDir, 'import');
  const services = createServices({ db: database.db, importDir });
  const jobs = createJobRunner(database.db, services, { log: () => undefined });
  const app = createApp({
    services,
    db: database.db,
    databaseKind: database.kind,
    tfjsBackend: 'cpu',
    version: 'test',
    importDir,
    log: () => undefined,
  });
  return {
    app,
    database,
    services,
    jobs,
    async call(method, url, body, contentType) {
      const init: RequestInit = { method };
      if (body !== undefined) {
        init.body = contentType ? (body as RequestInit['body']) : JSON.stringify(body);
        init.headers = { 'Content-Type': contentType ?? 'application/json' };
      }
      const res = await app.request(url, init);
      const text = await res.text();
      let parsed: unknown = text;
      if ((res.headers.get('content-type') ?? '').includes('application/json')) parsed = JSON.parse(text);
      return { status: res.status, body: parsed };
    },
    async close() {
      await jobs.stop();
      await services.roundWorker.close();
      await database.close();
    },
  };
}

export const textProject = {
  name: 'Support tickets',
  kind: 'text',
  labels: [{ name: 'billing', hotkey: 'b' }, { name: 'bug' }, { name: 'other', hotkey: 'o' }],
  guidelines: '# Route tickets',
};
