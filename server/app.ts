/** Builds the HTTP application from its dependencies; never opens a port (see main.ts). */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { limitBody } from './http/body-limit.js';
import { HTTPException } from 'hono/http-exception';
import type { Kysely } from 'kysely';
import type { DatabaseKind } from './db/create-db.js';
import type { Database } from './db/schema.js';
import { dashboardRoutes } from './http/dashboard.routes.js';
import { eventRoutes } from './http/events.routes.js';
import { roundRoutes } from './http/rounds.routes.js';
import { JobRunner, type JobRunnerOptions } from './jobs/job-runner.js';
import { RoundWorker } from './jobs/ml-process.js';
import { AppError, TooManyRequestsError } from './errors.js';
import { annotationRoutes } from './http/annotations.routes.js';
import { auditRoutes } from './http/audit.routes.js';
import { authenticate, principalOf } from './http/auth.middleware.js';
import { authRoutes } from './http/auth.routes.js';
import { csrfProtection } from './http/csrf.middleware.js';
import { memberRoutes } from './http/members.routes.js';
import { defaultRateLimits, provideRateLimiters, type RateLimits } from './http/rate-limit.js';
import { apiSecurityHeaders, builtScriptHashes, builtStyleAttributeHashes, securityHeaders } from './http/security-headers.js';
import { tokenRoutes } from './http/tokens.routes.js';
import { userRoutes } from './http/users.routes.js';
import { exportRoutes } from './http/export.routes.js';
import { healthRoutes } from './http/health.routes.js';
import { itemRoutes, projectItemRoutes } from './http/items.routes.js';
import { projectRoutes } from './http/projects.routes.js';
import { queueRoutes } from './http/queue.routes.js';
import { ImageFileRepository } from './repositories/image-file.repository.js';
import { AnnotationService } from './services/annotation.service.js';
import { DashboardService } from './services/dashboard.service.js';
import { EventBus } from './services/event-bus.js';
import { ForegroundWork } from './services/foreground-work.js';
import { ApiTokenService } from './services/api-token.service.js';
import { AuditService } from './services/audit.service.js';
import { AccessCache } from './services/access-cache.js';
import { AuthService } from './services/auth.service.js';
import { MemberService } from './services/member.service.js';
import { UserService } from './services/user.service.js';
import { ExportService } from './services/export.service.js';
import { ImportService } from './services/import.service.js';
import { ItemService } from './services/item.service.js';
import { ProjectService } from './services/project.service.js';
import { QueueService } from './services/queue.service.js';
import { RoundRunner } from './services/round-runner.js';
import { RoundService } from './services/round.service.js';

export interface AppDeps {
  db: Kysely<Database>;
  /** Where batches of labels are stored: a connection of their own (`DatabaseHandle.ownConnectionDb`), else `db`. */
  labelDb?: Kysely<Database>;
  databaseKind: DatabaseKind;
  tfjsBackend: string;
  version: string;
  importDir: string;
  /** The built web app; omitted in API-only tests. */
  webBuildDir?: string;
  log?: (message: string, fields?: Record<string, unknown>) => void;
  /** Tests lower these to reach them quickly. */
  rateLimits?: RateLimits;
}

export type Services = ReturnType<typeof createServices>;

/** API paths anyone may call; every other API route needs a signed-in user before its own role check. */
const publicApiPaths = new Set(['/api/health', '/api/auth/login', '/api/auth/logout', '/api/auth/invite', '/api/auth/accept']);

/** Bodies are read into memory up to this; only imports stream beyond it (with their own cap). */
const maxBodyBytes = 1024 * 1024;
const streamingUpload = /^\/api\/projects\/[^/]+\/items$/;

export function createServices(deps: Pick<AppDeps, 'db' | 'labelDb' | 'importDir'>) {
  const images = new ImageFileRepository(deps.importDir);
  const events = new EventBus();
  const projects = new ProjectService(deps.db);
  const rounds = new RoundService(deps.db, projects, events);
  /** Who is who and who may do what, shared so that a change through one service is seen by all. */
  const access = new AccessCache();
  const foreground = new ForegroundWork();
  const roundWorker = new RoundWorker();
  roundWorker.yieldTo(foreground);
  return {
    access,
    events,
    projects,
    imports: new ImportService(deps.db, projects, images, (projectId) => rounds.rescore(projectId)),
    items: new ItemService(deps.db, projects, images),
    exports: new ExportService(deps.db, projects),
    queue: new QueueService(deps.db, projects),
    annotations: new AnnotationService(deps.db, (count) => events.labelsStored(count), deps.labelDb),
    rounds,
    dashboard: new DashboardService(deps.db, projects, rounds),
    /** Requests in progress: the ML process pauses while there are any. */
    foreground,
    /** Trains and scores in a low-priority child process, started on first use. */
    roundWorker,
    images,
    auth: new AuthService(deps.db, access),
    users: new UserService(deps.db, access),
    members: new MemberService(deps.db, access),
    tokens: new ApiTokenService(deps.db, access),
    audit: new AuditService(deps.db),
  };
}

/** The background job loop (retraining rounds, scoring runs) over the app's services. */
export function createJobRunner(db: Kysely<Database>, services: Services, options?: JobRunnerOptions): JobRunner {
  const runner = new RoundRunner(db, services.roundWorker, services.images, services.events, services.foreground);
  return new JobRunner(db, services.rounds, runner, services.events, options);
}

export function createApp(deps: AppDeps & { services?: Services }) {
  const services = deps.services ?? createServices(deps);
  const log = deps.log ?? ((message, fields) => console.error(message, fields ?? ''));

  const limitBodies = limitBody(maxBodyBytes);
  const api = new Hono()
    .use(provideRateLimiters(deps.rateLimits ?? defaultRateLimits))
    .use((c, next) => (c.req.method === 'POST' && streamingUpload.test(c.req.path) ? next() : limitBodies(c, next)))
    .use(async (c, next) => {
      // An event stream stays open for as long as its page; it is not work the server is doing.
      if (c.req.path.endsWith('/events')) return next();
      const answered = services.foreground.begin();
      try {
        await next();
      } finally {
        answered();
      }
    })
    .use(authenticate(services.auth))
    .use(csrfProtection)
    .use(async (c, next) => {
      if (!publicApiPaths.has(c.req.path)) principalOf(c);
      return next();
    })
    .route('/health', healthRoutes({ database: deps.databaseKind, tfjsBackend: deps.tfjsBackend, version: deps.version }))
    .route('/projects', projectRoutes(services.projects))
    .route('/projects', projectItemRoutes(services.imports, services.items))
    .route('/projects', exportRoutes(services.exports))
    .route('/items', itemRoutes(services.items))
    .route('/items', annotationRoutes(services.annotations))
    .route('/', queueRoutes(services.queue))
    .route('/projects', roundRoutes(services.rounds))
    .route('/projects', dashboardRoutes(services.dashboard))
    .route('/projects', eventRoutes(services.projects, services.events))
    .route('/auth', authRoutes(services.auth, services.users))
    .route('/projects', memberRoutes(services.members, services.users))
    .route('/tokens', tokenRoutes(services.tokens))
    .route('/users', userRoutes(services.users))
    .route('/', auditRoutes(services.audit));

  const app = new Hono();
  const webHeaders = securityHeaders(builtScriptHashes(deps.webBuildDir), builtStyleAttributeHashes(deps.webBuildDir));
  app.use((c, next) => (isApiPath(c.req.path) ? apiSecurityHeaders(c, next) : webHeaders(c, next)));
  app.route('/api', api);
  app.all('/api/*', (c) => c.json({ error: { code: 'not_found', message: `No route for ${c.req.method} ${c.req.path}` } }, 404));

  if (deps.webBuildDir) {
    const root = deps.webBuildDir;
    app.use('*', serveStatic({ root }));
    // Client-side routes (e.g. /projects/3) all load the single-page app.
    app.get('*', serveStatic({ path: path.join(root, 'index.html') }));
  }

  app.onError((err, c) => {
    if (err instanceof TooManyRequestsError) c.header('Retry-After', String(err.retryAfterSeconds));
    if (err instanceof AppError) {
      return c.json({ error: { code: err.code, message: err.message, ...(err.details !== undefined && { details: err.details }) } }, err.status);
    }
    if (err instanceof HTTPException) {
      const status = err.status;
      const code = status === 413 ? 'payload_too_large' : status === 400 ? 'bad_request' : 'http_error';
      return c.json({ error: { code, message: err.message || 'Request rejected' } }, status);
    }
    const id = requestIdOf(c.req.header('x-request-id'));
    log('unhandled error', { requestId: id, method: c.req.method, path: c.req.path, error: err instanceof Error ? err.stack : String(err) });
    c.header('X-Request-Id', id);
    return c.json({ error: { code: 'internal', message: `Something went wrong on our side (request ${id})` } }, 500);
  });

  return app;
}

export type AppType = ReturnType<typeof createApp>;

const isApiPath = (path: string) => path === '/api' || path.startsWith('/api/');

/**
 * The id an unexpected failure is logged and answered under, for matching a user's report to the
 * log: the caller's own `X-Request-Id` when it is a plain token (a proxy's, say), else a new one.
 */
function requestIdOf(given: string | undefined): string {
  return given !== undefined && /^[\w-]{1,255}$/.test(given) ? given : randomUUID();
}
