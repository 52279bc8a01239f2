import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices } from '../../server/app.js';
import type { DatabaseHandle } from '../../server/db/create-db.js';
import { loadDemoIfEmpty } from '../../server/services/demo.service.js';
import { fixturesDir } from '../support/test-app.js';
import { openTestDb } from '../support/test-db.js';

const demoFile = path.resolve(fixturesDir, '../../datasets/demo-wordnet.jsonl');

describe('the demo project', () => {
  let database: DatabaseHandle;
  beforeAll(async () => {
    database = await openTestDb('pglite');
  });
  afterAll(() => database.close());

  it('is loaded into an empty database with its seed labels, and only once', async () => {
    const { projects, imports } = createServices({ db: database.db, importDir: fixturesDir });
    const loaded = await loadDemoIfEmpty(projects, imports, demoFile);
    expect(loaded).toEqual({ projectId: expect.any(Number), imported: 2000 });
    const project = await projects.get(loaded!.projectId);
    expect(project.labels).toHaveLength(12);
    expect(project.counts).toEqual({ items: 2000, labeled: 24 });
    expect(await loadDemoIfEmpty(projects, imports, demoFile)).toBeNull();
    expect(await projects.count()).toBe(1);
  });
});
