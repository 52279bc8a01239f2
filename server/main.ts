/** Entry point: parse config, open and migrate the database, build the app, serve, shut down cleanly. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { initBackend } from '../ml/backend.js';
import { createApp, createJobRunner, createServices } from './app.js';
import { loadConfig } from './config.js';
import { createDb } from './db/create-db.js';
import { createMigrator, migrateToLatest } from './db/migrate.js';
import { createDemoAdminIfNoUsers, loadDemoIfEmpty } from './services/demo.service.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };

async function main(): Promise<void> {
  const config = loadConfig(process.env, version);
  const target = config.databaseUrl ? { url: config.databaseUrl, poolSize: config.databasePoolSize } : { dataDir: config.dataDir };
  const database = await createDb(target);
  if (database.kind === 'pglite') {
    await migrateToLatest(database.db);
  } else {
    const pending = (await createMigrator(database.db).getMigrations()).filter((m) => !m.executedAt);
    if (pending.length > 0) {
      console.error(`The database needs ${pending.length} migration(s): run \`npm run db:migrate\` first.`);
      await database.close();
      process.exit(1);
    }
  }
  const tfjsBackend = await initBackend();

  const deps = { db: database.db, labelDb: database.ownConnectionDb, importDir: config.importDir };
  const services = createServices(deps);
  const { projects, imports, users } = services;
  if (config.demo === 'auto') {
    const demo = await loadDemoIfEmpty(projects, imports, path.join(root, 'datasets', 'demo-wordnet.jsonl'));
    if (demo) console.log(`Loaded the demo project (${demo.imported} items).`);
  }
  // The embedded demo gets a ready admin; any other fresh installation gets a one-time setup link.
  const demoLogin = config.demo === 'auto' && database.kind === 'pglite' ? await createDemoAdminIfNoUsers(users) : null;
  const setupLink = demoLogin ? null : await users.createSetupLink();

  const jobs = createJobRunner(database.db, services);
  jobs.start();

  const app = createApp({
    ...deps,
    services,
    databaseKind: database.kind,
    tfjsBackend,
    version,
    webBuildDir: path.join(root, 'web', 'build'),
  });
  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
    const where = database.kind === 'pglite' ? `embedded database in ${config.dataDir}` : 'PostgreSQL';
    console.log(`Loopwise ${version} on http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${info.port}`);
    console.log(`  database: ${where}; TensorFlow.js backend: ${tfjsBackend}`);
    if (demoLogin) {
      console.log(`  Demo login, shown this once (the demo admin of the embedded database):`);
      console.log(`    email ${demoLogin.email}   password ${demoLogin.password}`);
    }
    if (setupLink) {
      console.log(`  No users yet. Create the first admin within 24 h at (one-time link):`);
      console.log(`    ${config.publicUrl}/setup?token=${setupLink.token}`);
    }
  });

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    console.log(`${signal} received, shutting down`);
    const http = server as unknown as { closeIdleConnections?: () => void; closeAllConnections?: () => void };
    // Requests in flight get two seconds; event streams never end by themselves.
    setTimeout(() => http.closeAllConnections?.(), 2_000).unref();
    server.close(() => {
      jobs
        .stop()
        .then(() => services.roundWorker.close())
        .then(() => database.close())
        .then(
          () => process.exit(0),
          () => process.exit(1),
        );
    });
    http.closeIdleConnections?.();
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
