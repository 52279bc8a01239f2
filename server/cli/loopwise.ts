/**
 * `npm run cli -- <command>`: administration from the shell, on the embedded database or on
 * DATABASE_URL, through the same services as the server. Stop the server before using it on the
 * embedded database (one process at a time can open it).
 *
 *   setup-link                                   a one-time link that creates the first admin
 *   user add EMAIL --role ROLE [--project ID] [--name NAME] [--token] [--token-days N]
 *                                                creates a user, prints a generated password once,
 *                                                and with --token an API token for ROLE once
 */
import { parseArgs } from 'node:util';
import { createServices } from '../app.js';
import { loadConfig } from '../config.js';
import { createDb } from '../db/create-db.js';
import { createMigrator, migrateToLatest } from '../db/migrate.js';
import { roles, type Role } from '../services/roles.js';
import { newPassword } from '../services/secrets.js';

const usage = `Usage:
  npm run cli -- setup-link
  npm run cli -- user add EMAIL --role admin|lead|engineer|annotator [--project ID] [--name NAME] [--token] [--token-days N]`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      role: { type: 'string' },
      project: { type: 'string' },
      name: { type: 'string' },
      token: { type: 'boolean', default: false },
      'token-days': { type: 'string', default: '90' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, sub, email] = positionals;
  if (values.help || !command) {
    console.log(usage);
    return values.help ? 0 : 2;
  }
  const config = loadConfig();
  const database = await createDb(config.databaseUrl ? { url: config.databaseUrl } : { dataDir: config.dataDir });
  try {
    if (database.kind === 'pglite') {
      await migrateToLatest(database.db);
    } else if ((await createMigrator(database.db).getMigrations()).some((m) => !m.executedAt)) {
      console.error('The database needs migrations: run `npm run db:migrate` first.');
      return 1;
    }
    const services = createServices({ db: database.db, importDir: config.importDir });

    if (command === 'setup-link') {
      const link = await services.users.createSetupLink();
      if (!link) {
        console.error('This installation already has users; admins invite others from the members page.');
        return 1;
      }
      console.log(`${config.publicUrl}/setup?token=${link.token}`);
      console.log(`(one-time link, valid until ${link.expiresAt.toISOString()})`);
      return 0;
    }

    if (command === 'user' && sub === 'add' && email) {
      const role = values.role as Role | undefined;
      if (!role || !roles.includes(role)) {
        console.error(`--role must be one of ${roles.join(', ')}`);
        return 2;
      }
      const projectId = values.project === undefined ? undefined : Number(values.project);
      if (projectId !== undefined && !(Number.isSafeInteger(projectId) && projectId > 0)) {
        console.error('--project must be a project id');
        return 2;
      }
      const password = newPassword();
      const user = await services.users.create({ email, name: values.name, password, role, projectId }, 'cli');
      console.log(`Created ${user.email} (${role}${projectId === undefined ? '' : ` in project ${projectId}`}).`);
      console.log(`Password (shown once): ${password}`);
      if (values.token) {
        const days = Number(values['token-days']);
        const { token, record } = await services.tokens.create(
          { userId: user.id, email: user.email },
          { name: 'cli', role, expiresInDays: days },
        );
        console.log(`API token (shown once, expires ${record.expiresAt.toISOString()}): ${token}`);
      }
      return 0;
    }

    console.error(usage);
    return 2;
  } finally {
    await database.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
