import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Page, Request, Route } from 'playwright-core';
import { hasChromium } from '../support/browser';
import { browserSuite } from '../support/browser-suite';

interface CreatedProject {
  id: number;
  name: string;
}

interface ListedItem {
  id: number;
  externalId: string;
  label: string | null;
  annotation: { annotator: string; source: string } | null;
}

/** The last midnight in `timeZone`, as an instant. */
function midnightIn(timeZone: string): Date {
  const now = new Date();
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
    .formatToParts(now)
    .reduce<Record<string, number>>((all, part) => ({ ...all, [part.type]: Number(part.value) }), {});
  const sinceMidnightMs = ((parts.hour * 60 + parts.minute) * 60 + parts.second) * 1000 + now.getMilliseconds();
  return new Date(now.getTime() - sinceMidnightMs);
}

/** A laptop's window. */
const viewport = { width: 1280, height: 900 };

describe.skipIf(!hasChromium)('labeling in the browser', () => {
  let page: Page;
  let pageErrors: string[];

  const suite = browserSuite();

  beforeEach(async () => {
    page = await suite.browser.newPage({ viewport });
    page.setDefaultTimeout(10_000);
    pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text())) pageErrors.push(message.text());
    });
  });

  afterEach(async () => {
    await page.close();
    expect(pageErrors).toEqual([]);
  });

  const api = (method: string, path: string, body?: unknown) => suite.server.api(method, path, body);

  async function createProject(
    name: string,
    options: { kind?: string; guidelines?: string; items: Record<string, unknown>[] },
  ): Promise<CreatedProject> {
    const response = await api('POST', '/projects', {
      name,
      kind: options.kind ?? 'text',
      labels: [
        { name: 'spam', hotkey: 'p' },
        { name: 'ham', hotkey: 'h' },
      ],
      ...(options.guidelines === undefined ? {} : { guidelines: options.guidelines }),
    });
    expect(response.status).toBe(201);
    const project = (await response.json()) as CreatedProject;
    const imported = await fetch(`${suite.server.url}/api/projects/${project.id}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${suite.server.admin.token}` },
      body: options.items.map((item) => JSON.stringify(item)).join('\n') + '\n',
    });
    expect(imported.status).toBe(200);
    return project;
  }

  function textItems(count: number): Record<string, unknown>[] {
    return Array.from({ length: count }, (_, i) => ({ id: `t${i + 1}`, text: `message number ${i + 1}` }));
  }

  /** Opens the labeling page signed in as `annotator`, an annotator of the project. */
  async function openLabeling(project: CreatedProject, annotator: string) {
    await suite.server.signIn(page, await suite.server.member(annotator, project.id));
    await page.goto(`${suite.server.url}/projects/${project.id}/label`);
    await page.getByTestId('current-item').waitFor();
  }

  async function currentExternalId(on: Page = page): Promise<string> {
    return (await on.locator('[data-testid="current-item"] .external-id').textContent()) ?? '';
  }

  /** Presses a key and waits for the next item to replace the one on screen. */
  async function decideWith(key: string, on: Page = page): Promise<string> {
    const before = await currentExternalId(on);
    await on.keyboard.press(key);
    await expect.poll(() => currentExternalId(on)).not.toBe(before);
    return before;
  }

  async function waitAllSaved(on: Page = page) {
    await expect.poll(() => on.getByTestId('save-status').textContent(), { timeout: 15_000 }).toContain('All saved');
  }

  async function labeledItems(projectId: number): Promise<Map<string, ListedItem>> {
    const response = await api('GET', `/projects/${projectId}/items?status=labeled&limit=500`);
    const { items } = (await response.json()) as { items: ListedItem[] };
    return new Map(items.map((item) => [item.externalId, item]));
  }

  async function annotationCount(projectId: number, externalId: string): Promise<number> {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from annotation a join item i on i.item_id = a.item_id
      where i.project_id = ${projectId} and i.external_id = ${externalId} and a.source = 'human'
    `.execute(suite.server.database.db);
    return rows[0].n;
  }

  /** Waits until the current item's picture has loaded. */
  async function pictureShown() {
    const loaded = (img: unknown) => {
      const { complete, naturalWidth } = img as { complete: boolean; naturalWidth: number };
      return complete && naturalWidth > 0;
    };
    await expect.poll(() => page.locator('[data-testid="current-item"] img').evaluate(loaded)).toBe(true);
  }

  /** Rewrites queue answers, e.g. to give items a model suggestion before any model exists. */
  async function rewriteQueue(rewrite: (item: Record<string, unknown>) => Record<string, unknown>) {
    await page.route('**/api/projects/*/queue/next', async (route: Route) => {
      const response = await route.fetch();
      const body = (await response.json()) as { items: Record<string, unknown>[] };
      await route.fulfill({ response, json: { items: body.items.map(rewrite) } });
    });
  }

  it('labels as the signed-in user with digit keys and label hotkeys', async () => {
    const project = await createProject('Keys', { items: textItems(4) });
    await openLabeling(project, 'ana');
    expect(await page.getByTestId('annotator-name').textContent()).toBe('ana@example.test');
    expect(await page.getByLabel('Your name').count()).toBe(0);
    expect(await page.getByTestId('item-text').textContent()).toMatch(/^message number \d$/);

    const first = await decideWith('1');
    const second = await decideWith('h');
    const third = await decideWith('P');
    await waitAllSaved();

    const labeled = await labeledItems(project.id);
    expect(labeled.get(first)?.label).toBe('spam');
    expect(labeled.get(second)?.label).toBe('ham');
    expect(labeled.get(third)?.label).toBe('spam');
    expect(labeled.get(first)?.annotation?.annotator).toBe('ana@example.test');
    expect(await page.getByTestId('recent-decision').count()).toBe(3);
    await expect.poll(() => page.getByTestId('labeled-today').textContent()).toBe('3');
  });

  it('accepts the suggestion with Enter, ignores Enter without one, and hides it on audits', async () => {
    const project = await createProject('Suggestions', {
      items: [...textItems(3), { id: 'audit', text: 'picked at random' }],
    });
    await openLabeling(project, 'ben');

    // A fresh project has no model, so nothing is suggested and Enter decides nothing.
    await expect.poll(() => page.getByTestId('suggestion').textContent()).toContain('No model suggestion');
    const before = await currentExternalId();
    await page.keyboard.press('Enter');
    await page.waitForTimeout(300);
    expect(await currentExternalId()).toBe(before);
    expect(await page.getByTestId('recent-decision').count()).toBe(0);

    await rewriteQueue((item) =>
      item.externalId === 'audit'
        ? { ...item, suggestion: { label: 'ham', confidence: 0.99, roundId: 1 }, reason: { strategy: 'random', score: null, holdout: true } }
        : item.externalId === 't3'
          ? { ...item, suggestion: { label: 'ham', confidence: 0.87, roundId: 1 }, reason: { strategy: 'random', score: 0.973, holdout: false } }
          : { ...item, suggestion: { label: 'ham', confidence: 0.87, roundId: 1 }, reason: { strategy: 'margin', score: 0.12345, holdout: false } },
    );
    await page.reload();
    await page.getByTestId('current-item').waitFor();

    for (let decided = 0; decided < 4; decided += 1) {
      const externalId = await currentExternalId();
      const suggestion = page.getByTestId('suggestion');
      if (externalId === 'audit') {
        expect(await page.getByTestId('reason').textContent()).toBe('Random audit');
        expect(await suggestion.textContent()).not.toContain('99%');
        expect(await page.locator('.label-button.suggested').count()).toBe(0);
        await page.keyboard.press('Enter');
        await page.waitForTimeout(200);
        expect(await currentExternalId()).toBe('audit');
        await page.keyboard.press('1');
      } else if (externalId === 't3') {
        // The strategy's random share: told apart from the audits, and without a score that did not choose it.
        expect(await page.getByTestId('reason').textContent()).toMatch(/random exploration\s*$/);
        await page.keyboard.press('Enter');
      } else {
        expect(await suggestion.textContent()).toMatch(/ham.*87%/s);
        expect(await page.getByTestId('reason').textContent()).toMatch(/margin\s*· score 0\.123/);
        await page.keyboard.press('Enter');
      }
      if (decided < 3) await expect.poll(currentExternalId).not.toBe(externalId);
    }
    await waitAllSaved();

    const labeled = await labeledItems(project.id);
    expect(labeled.get('audit')?.label).toBe('spam');
    for (const id of ['t1', 't2', 't3']) expect(labeled.get(id)?.label).toBe('ham');
  });

  it('skips with S and undoes with Backspace; a re-decision is stored as a new version', async () => {
    const project = await createProject('Undo', { items: textItems(3) });
    await openLabeling(project, 'cleo');

    const first = await decideWith('1');
    const skipRequest = page.waitForRequest((request: Request) => request.url().endsWith('/skip'));
    const skipped = await decideWith('s');
    await skipRequest;
    const third = await currentExternalId();
    await waitAllSaved();

    const recent = page.getByTestId('recent-decision');
    expect(await recent.nth(0).textContent()).toContain('Skipped');
    expect(await recent.nth(1).textContent()).toContain('spam');

    // Each Backspace steps one decision further back.
    await page.keyboard.press('Backspace');
    await expect.poll(currentExternalId).toBe(skipped);
    await page.keyboard.press('Backspace');
    await expect.poll(currentExternalId).toBe(first);
    expect(await page.locator('.label-button.previous').textContent()).toContain('spam');

    const redecided = page.waitForResponse(
      (response) => response.url().includes('/annotations') && response.request().method() === 'POST',
    );
    await page.keyboard.press('2');
    const response = await redecided;
    expect(response.status()).toBe(201);
    expect(((await response.json()) as { version: number }).version).toBe(2);
    // Back on the item the queue had reached.
    await expect.poll(currentExternalId).toBe(third);
    await waitAllSaved();
    expect((await labeledItems(project.id)).get(first)?.label).toBe('ham');
    expect(await annotationCount(project.id, first)).toBe(2);

    // Clicking a recent decision reopens it too; Escape returns to the queue unchanged.
    await page.getByTestId('recent-decision').filter({ hasText: first }).click();
    await expect.poll(currentExternalId).toBe(first);
    await page.keyboard.press('Escape');
    await expect.poll(currentExternalId).toBe(third);
    expect(await annotationCount(project.id, first)).toBe(2);
  });

  it('toggles an overlay with the keys and the guidelines on ?', async () => {
    const project = await createProject('Help', {
      guidelines: '**Spam** is anything *unsolicited*.\n\n<script>alert(1)</script>',
      items: textItems(2),
    });
    await openLabeling(project, 'dan');

    await page.keyboard.press('?');
    const help = page.getByTestId('key-help');
    await help.waitFor();
    const guidelines = page.getByTestId('help-guidelines');
    expect(await guidelines.innerHTML()).toContain('<strong>Spam</strong>');
    expect(await guidelines.locator('script').count()).toBe(0);
    expect(await help.textContent()).toMatch(/1\s*p\s*spam/);

    // Label keys are inert while the overlay is open.
    await page.keyboard.press('1');
    expect(await page.getByTestId('recent-decision').count()).toBe(0);

    await page.keyboard.press('?');
    await help.waitFor({ state: 'detached' });
    await page.keyboard.press('?');
    await help.waitFor();
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'detached' });
  });

  it('retries a submit whose answer was lost under the same Idempotency-Key, storing it once', async () => {
    const project = await createProject('Retry', { items: textItems(2) });
    await openLabeling(project, 'eve');

    const keys: string[] = [];
    let statuses: number[] = [];
    await page.route('**/api/items/*/annotations', async (route: Route) => {
      keys.push(route.request().headers()['idempotency-key'] ?? '');
      // The server stores the first attempt, but its answer never reaches the page.
      const response = await route.fetch();
      statuses = [...statuses, response.status()];
      if (keys.length === 1) await route.abort('connectionreset');
      else await route.fulfill({ response });
    });

    const labeled = await decideWith('2');
    await expect.poll(() => keys.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    await waitAllSaved();

    expect(keys[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(keys).size).toBe(1);
    expect(statuses.every((status) => status === 201)).toBe(true);
    expect(await annotationCount(project.id, labeled)).toBe(1);
    expect((await labeledItems(project.id)).get(labeled)?.label).toBe('ham');
  });

  it('keeps a decision made offline and replays it after a reload', async () => {
    const project = await createProject('Offline', { items: textItems(3) });
    await openLabeling(project, 'finn');

    await page.route('**/api/items/*/annotations', (route: Route) => route.abort('internetdisconnected'));
    const labeled = await decideWith('1');
    await expect.poll(() => page.getByTestId('save-status').textContent()).toContain('Offline — 1 pending');
    expect(await annotationCount(project.id, labeled)).toBe(0);

    await page.unroute('**/api/items/*/annotations');
    await page.reload();
    await page.getByTestId('current-item').waitFor();
    await waitAllSaved();
    expect((await labeledItems(project.id)).get(labeled)?.label).toBe('spam');
    expect(await annotationCount(project.id, labeled)).toBe(1);
    // The replayed decision is listed, and its item is not offered again.
    expect(await page.getByTestId('recent-decision').first().textContent()).toContain(labeled);
    expect(await currentExternalId()).not.toBe(labeled);
  });

  it('keeps the offline decisions of two tabs of one annotator and replays them after both close', async () => {
    const project = await createProject('Two tabs', { items: textItems(8) });
    // Two tabs of one browser: they share its storage and its sign-in.
    const browser = await suite.browser.newContext({ viewport });
    try {
      const [tab, otherTab] = [await browser.newPage(), await browser.newPage()];
      await suite.server.signIn(tab, await suite.server.member('nora', project.id));
      const labelingPage = `${suite.server.url}/projects/${project.id}/label`;
      const offline = (route: Route) => route.abort('internetdisconnected');
      await browser.route('**/api/items/*/annotations', offline);

      await tab.goto(labelingPage);
      await tab.getByTestId('current-item').waitFor();
      const first = await decideWith('1', tab);
      await otherTab.goto(labelingPage);
      await otherTab.getByTestId('current-item').waitFor();
      const inOtherTab = await decideWith('2', otherTab);
      await expect.poll(() => otherTab.getByTestId('save-status').textContent()).toContain('Offline — 2 pending');
      // Back in the first tab, which read the stored decisions before the other tab added one.
      const second = await decideWith('1', tab);
      await expect.poll(() => tab.getByTestId('save-status').textContent()).toContain('pending');

      await otherTab.close();
      await tab.goto('about:blank');
      await browser.unroute('**/api/items/*/annotations', offline);
      await tab.goto(labelingPage);
      await tab.getByTestId('current-item').waitFor();
      await waitAllSaved(tab);

      // Both tabs show the annotator's leased items, so the two tabs may have decided the same one.
      const made: Array<[string, string]> = [[first, 'spam'], [inOtherTab, 'ham'], [second, 'spam']];
      const labeled = await labeledItems(project.id);
      for (const [externalId] of made) {
        const decisions = made.filter(([id]) => id === externalId);
        expect(await annotationCount(project.id, externalId)).toBe(decisions.length);
        expect(labeled.get(externalId)?.label).toBe(decisions.at(-1)?.[1]);
      }
    } finally {
      await browser.close();
    }
  });

  it('keeps the recent decisions across a reload, each still open to a new decision', async () => {
    const project = await createProject('Recent', { items: textItems(6) });
    await openLabeling(project, 'lena');
    const decided = [await decideWith('1'), await decideWith('2'), await decideWith('1')];
    await waitAllSaved();

    await page.reload();
    await page.getByTestId('current-item').waitFor();
    const entries = page.getByTestId('recent-decision');
    await expect.poll(() => entries.count()).toBe(3);
    expect(await entries.first().textContent()).toContain(decided[2]);
    expect(await entries.first().textContent()).toContain('Saved');
    await page.keyboard.press('Backspace');
    await expect.poll(() => currentExternalId()).toBe(decided[2]);
    await decideWith('2');
    await waitAllSaved();
    expect(await annotationCount(project.id, decided[2])).toBe(2);
    expect((await labeledItems(project.id)).get(decided[2])?.label).toBe('ham');
  });

  it("asks for the annotator's progress of today from midnight where the annotator is", async () => {
    const project = await createProject('Time zone', { items: textItems(2) });
    const timeZone = 'Pacific/Kiritimati';
    const browser = await suite.browser.newContext({ viewport, timezoneId: timeZone });
    try {
      const tab = await browser.newPage();
      await suite.server.signIn(tab, await suite.server.member('otto', project.id));
      const progressRequest = tab.waitForRequest('**/api/projects/*/progress?*');
      await tab.goto(`${suite.server.url}/projects/${project.id}/label`);
      const dayStart = new URL((await progressRequest).url()).searchParams.get('dayStart');
      expect(dayStart).toBe(midnightIn(timeZone).toISOString());
    } finally {
      await browser.close();
    }
  });

  it('tells the annotator when someone else labeled the item, without blocking', async () => {
    const project = await createProject('Conflict', { items: textItems(3) });
    await openLabeling(project, 'gus');

    await page.route('**/api/items/*/annotations', (route: Route) =>
      route.fulfill({
        status: 409,
        json: { error: { code: 'already_labeled', message: 'Someone else labeled this item.' } },
      }),
    );
    const lost = await decideWith('1');
    const notice = page.getByTestId('notice');
    await notice.waitFor();
    expect(await notice.textContent()).toContain(`“${lost}”`);
    expect(await notice.textContent()).toContain('someone else labeled it');
    await waitAllSaved();
    // Labeling goes on.
    await decideWith('2');
  });

  it('surfaces a decision the server refused and drops it from the pending list', async () => {
    const project = await createProject('Refused', { items: textItems(3) });
    await openLabeling(project, 'gwen');

    let attempts = 0;
    await page.route('**/api/items/*/annotations', (route: Route) => {
      attempts += 1;
      return route.fulfill({
        status: 400,
        json: { error: { code: 'validation_failed', message: 'label is not in this project' } },
      });
    });
    const refused = await decideWith('2');
    const notice = page.getByTestId('notice');
    await notice.waitFor();
    expect(await notice.textContent()).toContain('label is not in this project');
    await waitAllSaved();
    expect(attempts).toBe(1);
    expect(await page.getByTestId('recent-decision').first().textContent()).toContain(refused);
    expect(await page.getByTestId('recent-decision').first().textContent()).toContain('Not saved');
  });

  it('hands undecided leases back when the page closes', async () => {
    const project = await createProject('Leases', { items: textItems(3) });
    await openLabeling(project, 'hana');

    const other = async () => {
      const response = await suite.server.api('POST', `/projects/${project.id}/queue/next`, { n: 10 }, await suite.server.member('ivan', project.id));
      return ((await response.json()) as { items: unknown[] }).items.length;
    };
    // Every item is in hana's prefetch buffer.
    expect(await other()).toBe(0);

    await page.goto('about:blank');
    await expect.poll(other).toBe(3);
  });

  it('links to the labeling page from the projects list and the project page', async () => {
    const project = await createProject('Linked', { items: textItems(1) });
    await suite.server.signIn(page);
    await page.goto(suite.server.url);
    await page.getByRole('row', { name: /Linked/ }).getByRole('link', { name: 'Start labeling' }).click();
    await page.waitForURL(`**/projects/${project.id}/label`);

    await page.goto(`${suite.server.url}/projects/${project.id}`);
    await page.getByRole('link', { name: /Start labeling/ }).click();
    await page.waitForURL(`**/projects/${project.id}/label`);
  });

  it('fetches the pictures of the items waiting in the buffer before they are shown', async () => {
    const project = await createProject('Pictures', {
      kind: 'image',
      items: ['p1', 'p2', 'p3', 'p4'].map((id) => ({ id, image: 'red.png' })),
    });
    const requested = new Set<string>();
    await page.route('**/api/items/*/image', (route: Route) => {
      requested.add(new URL(route.request().url()).pathname);
      return route.continue();
    });
    await openLabeling(project, 'kim');

    // All four items are leased ahead; their pictures are asked for while the first is on screen.
    await expect.poll(() => requested.size).toBe(4);
    await decideWith('1');
    await pictureShown();
  });

  it('keeps the label buttons in view under a tall picture', async () => {
    const project = await createProject('Tall picture', { kind: 'image', items: [{ id: 'tall', image: 'tall.png' }] });
    await openLabeling(project, 'max');
    await pictureShown();
    const button = await page.getByRole('group', { name: 'Labels' }).getByRole('button').first().boundingBox();
    const statusBar = await page.getByTestId('save-status').boundingBox();
    expect(button!.y + button!.height).toBeLessThanOrEqual(statusBar!.y);
  });

  it('shows a vector as a compact table of its values', async () => {
    const project = await createProject('Vectors', {
      kind: 'vector',
      items: [{ id: 'v1', features: [0.5, null, 3, 1.23456, 7, 8, 9] }],
    });
    await openLabeling(project, 'jo');
    const table = page.getByTestId('item-features');
    expect(await table.locator('td').allTextContents()).toEqual(['0.5', '∅', '3', '1.235', '7', '8', '9']);
    expect(await table.locator('tr').count()).toBe(2);
  });
});
