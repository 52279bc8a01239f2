/**
 * A real server on a random local port over a fresh embedded database, serving the built web app,
 * with an admin to act as: `api` calls carry the admin's token, `signIn` gives a browser page a
 * session.
 */
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import type { Page } from 'playwright-core';
import { createApp, createJobRunner, createServices } from '../../server/app.js';
import type { DatabaseHandle } from '../../server/db/create-db.js';
import { sessionCookie } from '../../server/http/auth.middleware.js';
import type { ProjectRole } from '../../server/services/roles.js';
import { openTestDb } from './test-db.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const testPassword = 'a test password';

export interface ServerUser {
  id: number;
  email: string;
  token: string;
}

export interface TestServer {
  url: string;
  database: DatabaseHandle;
  services: ReturnType<typeof createServices>;
  admin: ServerUser;
  /** A fetch of `/api…` as `as` (the admin by default), JSON in and out. */
  api(method: string, path: string, body?: unknown, as?: ServerUser): Promise<Response>;
  /** The user `<name>@example.test` (password `testPassword`), created on first use, member of the project with `role`. */
  member(name: string, projectId: number, role?: ProjectRole): Promise<ServerUser>;
  /** Gives the page's browser context a session of `user` (the admin by default). */
  signIn(page: Page, user?: ServerUser): Promise<void>;
  close(): Promise<void>;
}

/** With `jobs`, the background loop runs as in the real server (retraining rounds, scoring runs). */
export async function startTestServer(options: { importDir?: string; jobs?: boolean } = {}): Promise<TestServer> {
  const database = await openTestDb('pglite');
  const importDir = options.importDir ?? path.join(root, 'test', 'fixtures', 'import');
  const services = createServices({ db: database.db, labelDb: database.ownConnectionDb, importDir });
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
  const url = `http://127.0.0.1:${port}`;

  const users = new Map<string, ServerUser>();
  const createUser = async (name: string, admin = false): Promise<ServerUser> => {
    const user = await services.users.create({ email: `${name}@example.test`, name, password: testPassword, role: admin ? 'admin' : undefined });
    const { token } = await services.tokens.create({ userId: user.id, email: user.email }, { name: 'test', role: admin ? 'admin' : 'lead', expiresInDays: 1 });
    const created = { id: user.id, email: user.email, token };
    users.set(name, created);
    return created;
  };
  const admin = await createUser('admin', true);

  return {
    url,
    database,
    services,
    admin,
    api(method, apiPath, body, as = admin) {
      return fetch(`${url}/api${apiPath}`, {
        method,
        headers: { Authorization: `Bearer ${as.token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    },
    async member(name, projectId, role = 'annotator') {
      const user = users.get(name) ?? (await createUser(name));
      await services.members.add(projectId, user.email, role, 'test');
      return user;
    },
    async signIn(page, user = admin) {
      const found = await services.users.list().then((all) => all.find((u) => u.id === user.id)!);
      const session = await services.auth.startSession(found);
      await page.context().addCookies([{ name: sessionCookie, value: session.sessionId, url, httpOnly: true, sameSite: 'Lax' }]);
    },
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
