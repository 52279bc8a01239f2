/** Loads the demo project into an empty database so a first run has something to label. */
import { createReadStream } from 'node:fs';
import type { ImportService } from './import.service.js';
import type { ProjectService } from './project.service.js';
import { newPassword } from './secrets.js';
import type { UserService } from './user.service.js';

export const demoAdminEmail = 'admin@demo.loopwise';

export const demoProject = {
  name: 'Demo: WordNet noun categories',
  kind: 'text' as const,
  labels: [
    { name: 'act', hotkey: 'a' },
    { name: 'animal', hotkey: 'n' },
    { name: 'artifact', hotkey: 'r' },
    { name: 'attribute', hotkey: 't' },
    { name: 'body', hotkey: 'b' },
    { name: 'communication', hotkey: 'c' },
    { name: 'food', hotkey: 'f' },
    { name: 'location', hotkey: 'l' },
    { name: 'person', hotkey: 'p' },
    { name: 'plant', hotkey: 'g' },
    { name: 'state', hotkey: 'e' },
    { name: 'substance', hotkey: 'u' },
  ],
  guidelines: [
    '## Which category does this noun belong to?',
    '',
    'Each item is a WordNet noun sense: its words, then its gloss. Pick the **lexicographer category**',
    'that fits the *sense described by the gloss*, not other senses of the word.',
    '',
    '- **act**: acts or actions (*a rescue*, *fishing*)',
    '- **artifact**: man-made objects (*an oxcart*, *a hammer*)',
    '- **attribute**: qualities and properties (*whiteness*, *height*)',
    '- **communication**: language, messages, writing (*a memo*, *a sonnet*)',
    '- **state**: conditions, including illnesses (*iridocyclitis*, *poverty*)',
    '- **substance**: materials and chemicals (*ozone*, *glue*)',
    '',
    'When two categories fit, prefer the one the gloss starts with.',
  ].join('\n'),
};

export async function loadDemoIfEmpty(
  projects: ProjectService,
  imports: ImportService,
  demoFile: string,
): Promise<{ projectId: number; imported: number } | null> {
  if ((await projects.count()) > 0) return null;
  const project = await projects.create(demoProject);
  const result = await imports.importItems(project.id, createReadStream(demoFile), 'jsonl');
  return { projectId: project.id, imported: result.imported };
}

/**
 * On an installation without users, creates the demo admin with a random password and answers
 * the login to show once; null when users exist.
 */
export async function createDemoAdminIfNoUsers(users: UserService): Promise<{ email: string; password: string } | null> {
  if (await users.hasUsers()) return null;
  const password = newPassword();
  await users.create({ email: demoAdminEmail, name: 'Demo admin', password, role: 'admin' });
  return { email: demoAdminEmail, password };
}
