/**
 * The app over a fresh database, driven with `app.request()`; no port is opened. Requests are
 * made as a user: `t.call` as the admin every test app starts with, `t.as(user).call` as anyone
 * else (see `t.user` and `t.member`).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp, createJobRunner, createServices, type Services } from '../../server/app.js';
import type { JobRunner } from '../../server/jobs/job-runner.js';
import type { DatabaseHandle, DatabaseKind } from '../../server/db/create-db.js';
import type { RateLimits } from '../../server/http/rate-limit.js';
import type { ProjectRole, Role } from '../../server/services/roles.js';
import { openTestDb } from './test-db.js';

export const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');

export type Call = (method: string, url: string, body?: unknown, contentType?: string) => Promise<{ status: number; body: any }>;

export interface Caller {
  /** Sends JSON (or a raw body with its content type) and answers the status and parsed body. */
  call: Call;
  /** `app.request` with this user's credentials added. */
  request(url: string, init?: RequestInit): Promise<Response>;
}

export interface TestUser extends Caller {
  id: number;
  email: string;
  /** The API token the user's requests carry. */
  token: string;
}

export interface TestApp extends Caller {
  app: ReturnType<typeof createApp>;
  database: DatabaseHandle;
  services: Services;
  /** The background job loop, not started: tests drive it with `runOnce()`. */
  jobs: JobRunner;
  /** The admin `call` and `request` act as. */
  admin: TestUser;
  /** No credentials at all. */
  anonymous: Caller;
  /** A new user (email `<name>@example.test`), with a project role when `projectId` is given. */
  user(name: string, role?: Role, projectId?: number): Promise<TestUser>;
  /** The user called `name` (created on first use), made a member of the project with `role`. */
  member(name: string, projectId: number, role?: ProjectRole): Promise<TestUser>;
  close(): Promise<void>;
}

export function emailOf(name: string): string {
  return `${name}@example.test`;
}

export async function createTestApp(kind: DatabaseKind = 'pglite', options: { rateLimits?: RateLimits } = {}): Promise<TestApp> {
  const database = await openTestDb(kind);
  const importDir = path.join(fixturesDir, 'import');
  const services = createServices({ db: database.db, labelDb: database.ownConnectionDb, importDir });
  const jobs = createJobRunner(database.db, services, { log: () => undefined });
  const app = createApp({
    services,
    db: database.db,
    databaseKind: database.kind,
    tfjsBackend: 'cpu',
    version: 'test',
    importDir,
    log: () => undefined,
    rateLimits: options.rateLimits,
  });

  const callerWith = (headers: Record<string, string>): Caller => {
    const request = (url: string, init: RequestInit = {}) =>
      Promise.resolve(app.request(url, { ...init, headers: { ...headers, ...(init.headers as Record<string, string> | undefined) } }));
    return {
      request,
      async call(method, url, body, contentType) {
        const init: RequestInit = { method };
        if (body !== undefined) {
          init.body = contentType ? (body as RequestInit['body']) : JSON.stringify(body);
          init.headers = { 'Content-Type': contentType ?? 'application/json' };
        }
        const res = await request(url, init);
        const text = await res.text();
        let parsed: unknown = text;
        if ((res.headers.get('content-type') ?? '').includes('application/json')) parsed = JSON.parse(text);
        return { status: res.status, body: parsed };
      },
    };
  };

  const users = new Map<string, TestUser>();
  const memberships = new Map<string, Promise<TestUser>>();
  const user = async (name: string, role?: Role, projectId?: number): Promise<TestUser> => {
    const created = await services.users.create({ email: emailOf(name), password: null, role, projectId });
    const { token } = await services.tokens.create({ userId: created.id, email: created.email }, { name: 'test', role: created.isAdmin ? 'admin' : 'lead', expiresInDays: 1 });
    const testUser = { id: created.id, email: created.email, token, ...callerWith({ Authorization: `Bearer ${token}` }) };
    users.set(name, testUser);
    return testUser;
  };
  const admin = await user('admin', 'admin');

  return {
    app,
    database,
    services,
    jobs,
    admin,
    call: admin.call,
    request: admin.request,
    anonymous: callerWith({}),
    user,
    member(name, projectId, role = 'annotator') {
      const key = `${name}:${projectId}:${role}`;
      let joined = memberships.get(key);
      if (!joined) {
        joined = (async () => {
          const existing = users.get(name) ?? (await user(name));
          await services.members.add(projectId, existing.email, role, 'test');
          return existing;
        })();
        memberships.set(key, joined);
      }
      return joined;
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
