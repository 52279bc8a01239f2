import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { hasChromium } from '../support/browser';
import { browserSuite } from '../support/browser-suite';

interface CreatedProject {
  id: number;
  name: string;
}

describe.skipIf(!hasChromium)('projects in the browser', () => {
  let page: Page;
  let dialogs: string[];
  let pageErrors: string[];
  let cspViolations: string[];

  const suite = browserSuite();

  beforeEach(async () => {
    page = await suite.browser.newPage();
    page.setDefaultTimeout(10_000);
    await suite.server.signIn(page);
    dialogs = [];
    pageErrors = [];
    cspViolations = [];
    page.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterEach(async () => {
    await page.close();
    expect(pageErrors).toEqual([]);
    // The server's CSP header allows the built app's scripts and nothing else inline.
    expect(cspViolations).toEqual([]);
  });

  async function createProject(body: Record<string, unknown>): Promise<CreatedProject> {
    const response = await suite.server.api('POST', '/projects', body);
    expect(response.status).toBe(201);
    return (await response.json()) as CreatedProject;
  }

  async function importJsonl(page: Page, rows: string[]) {
    await page.getByLabel('File', { exact: true }).setInputFiles({
      name: 'items.jsonl',
      mimeType: 'application/x-ndjson',
      buffer: Buffer.from(rows.join('\n') + '\n'),
    });
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByTestId('import-result').waitFor();
  }

  async function visibleExternalIds(page: Page): Promise<string[]> {
    await page.getByText('Loading…').waitFor({ state: 'detached' });
    return (await page.locator('[data-testid="item-row"] td:first-child').allTextContents()).sort();
  }

  it('creates a project through the form and lists it', async () => {
    await page.goto(suite.server.url);
    await page.getByRole('heading', { name: 'Projects' }).waitFor();

    await page.getByLabel('Name', { exact: true }).fill('Support tickets');
    await page.getByRole('radio', { name: /Vector/ }).check();
    await page.getByLabel('Label 1', { exact: true }).fill('urgent');
    await page.getByLabel('Label 2', { exact: true }).fill('urgent');
    await page.getByRole('button', { name: 'Create project' }).click();

    // Duplicate labels are caught before anything is sent.
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toContain('Duplicate of label 1');

    await page.getByLabel('Label 2', { exact: true }).fill('routine');
    await page.getByRole('button', { name: '+ Add label' }).click();
    await page.getByLabel('Label 3', { exact: true }).fill('spam');
    await page.locator('#project-guidelines').fill('Mark **outages** as urgent.');
    await expect
      .poll(() => page.getByLabel('Guidelines preview').innerHTML())
      .toContain('<strong>outages</strong>');
    await page.getByRole('button', { name: 'Create project' }).click();

    const row = page.getByRole('row', { name: /Support tickets/ });
    await row.waitFor();
    expect(await row.textContent()).toContain('Vector');
    expect(await page.getByRole('alert').count()).toBe(0);

    await page.getByRole('link', { name: 'Support tickets' }).first().click();
    await page.getByRole('heading', { level: 1, name: 'Support tickets' }).waitFor();
    expect(await page.getByTestId('guidelines').innerHTML()).toContain(
      '<strong>outages</strong>',
    );
  });

  it('shows the server health in the footer', async () => {
    await page.goto(suite.server.url);
    const footer = page.locator('footer');
    await footer.getByText('Database').waitFor();
    expect(await footer.textContent()).toMatch(/Database:?\s*(pglite|postgres)/);
  });

  it('imports a JSONL file and lists the rows that failed', async () => {
    const project = await createProject({
      name: 'Import check',
      kind: 'text',
      labels: [{ name: 'pos', hotkey: 'p' }, { name: 'neg' }],
    });
    await page.goto(`${suite.server.url}/projects/${project.id}`);
    await page.getByRole('heading', { level: 1, name: 'Import check' }).waitFor();

    await importJsonl(page, [
      JSON.stringify({ id: 'a', text: 'lovely' }),
      JSON.stringify({ id: 'b', text: 'awful', label: 'neg' }),
      '{"id": "c", "text": ',
      JSON.stringify({ id: 'd', text: 'fine' }),
    ]);

    const result = page.getByTestId('import-result');
    expect(await result.getByTestId('imported-count').textContent()).toBe('3');
    const errorRows = result.locator('tbody tr');
    expect(await errorRows.count()).toBe(1);
    expect(await errorRows.first().locator('td').first().textContent()).toBe('3');

    await expect.poll(() => page.getByTestId('count-items').textContent()).toBe('3');
    expect(await visibleExternalIds(page)).toEqual(['a', 'b', 'd']);
  });

  it('filters items by unlabeled, labeled and a single label', async () => {
    const project = await createProject({
      name: 'Filter check',
      kind: 'text',
      labels: [{ name: 'cat' }, { name: 'dog' }],
    });
    await page.goto(`${suite.server.url}/projects/${project.id}`);
    await importJsonl(page, [
      JSON.stringify({ id: 'u1', text: 'unknown one' }),
      JSON.stringify({ id: 'u2', text: 'unknown two' }),
      JSON.stringify({ id: 'c1', text: 'meow', label: 'cat' }),
      JSON.stringify({ id: 'd1', text: 'woof', label: 'dog' }),
    ]);
    expect(await visibleExternalIds(page)).toEqual(['c1', 'd1', 'u1', 'u2']);

    const filter = page.getByLabel('Show');
    await filter.selectOption('unlabeled');
    expect(await visibleExternalIds(page)).toEqual(['u1', 'u2']);

    await filter.selectOption('labeled');
    expect(await visibleExternalIds(page)).toEqual(['c1', 'd1']);
    const catRow = page.getByRole('row', { name: /c1/ });
    expect(await catRow.textContent()).toMatch(/cat.*import/);

    await filter.selectOption({ label: 'dog' });
    expect(await visibleExternalIds(page)).toEqual(['d1']);
  });

  it('pages through items with Next and Back', async () => {
    const project = await createProject({
      name: 'Paging check',
      kind: 'vector',
      labels: [{ name: 'low' }, { name: 'high' }],
    });
    await page.goto(`${suite.server.url}/projects/${project.id}`);
    const ids = Array.from({ length: 55 }, (_, i) => `row-${String(i).padStart(2, '0')}`);
    await importJsonl(
      page,
      ids.map((id, i) => JSON.stringify({ id, features: [i, i / 10, null] })),
    );

    const firstPage = await visibleExternalIds(page);
    expect(firstPage).toHaveLength(50);
    // A vector shows as its numbers, with a marker for the missing one.
    expect(await page.getByRole('row', { name: /row-01/ }).textContent()).toMatch(/1\s*0\.1\s*∅/);

    await page.getByRole('button', { name: 'Next page' }).click();
    const secondPage = await visibleExternalIds(page);
    expect(secondPage).toHaveLength(5);
    expect([...firstPage, ...secondPage].sort()).toEqual(ids);
    expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);

    await page.getByRole('button', { name: 'Back' }).click();
    expect(await visibleExternalIds(page)).toEqual(firstPage);
    expect(await page.getByRole('button', { name: 'Back' }).isDisabled()).toBe(true);
  });

  it('changes the queue settings from the project page', async () => {
    const project = await createProject({ name: 'Settings', kind: 'text', labels: [{ name: 'a' }, { name: 'b' }] });
    await page.goto(`${suite.server.url}/projects/${project.id}`);
    await page.getByLabel('Labels per item').fill('2');
    await page.getByLabel('Random audit share').fill('20');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Saved.').waitFor();
    const saved = (await (await suite.server.api('GET', `/projects/${project.id}`)).json()) as Record<string, unknown>;
    expect(saved).toMatchObject({ overlap: 2, holdoutShare: 0.2, leaseSeconds: 300 });

    // Out of range: the form refuses to send it and the saved share stays.
    await page.getByLabel('Random audit share').fill('80');
    await page.getByRole('button', { name: 'Save settings' }).click();
    expect(await page.getByLabel('Random audit share').evaluate((el) => (el as unknown as { validity: { rangeOverflow: boolean } }).validity.rangeOverflow)).toBe(true);
    const after = (await (await suite.server.api('GET', `/projects/${project.id}`)).json()) as Record<string, unknown>;
    expect(after.holdoutShare).toBe(0.2);
  });

  it('renders guidelines and imported text as inert text', async () => {
    const project = await createProject({
      name: 'Hostile content',
      kind: 'text',
      labels: [{ name: 'safe' }, { name: 'unsafe' }],
      guidelines: [
        '# Rules',
        '',
        '<script>alert("guidelines script")</script>',
        '',
        '<img src="x" onerror="alert(\'guidelines img\')">',
        '',
        '[click me](javascript:alert("guidelines link"))',
      ].join('\n'),
    });
    await page.goto(`${suite.server.url}/projects/${project.id}`);
    const guidelines = page.getByTestId('guidelines');
    await guidelines.waitFor();

    expect(await guidelines.locator('h1').textContent()).toBe('Rules');
    expect(await guidelines.locator('script, img, [onerror]').count()).toBe(0);
    expect(await guidelines.locator('a[href^="javascript:"]').count()).toBe(0);
    expect(await guidelines.textContent()).toContain('<script>alert("guidelines script")</script>');

    const hostileText = '<img src="x" onerror="alert(\'item img\')"><b>bold?</b>';
    await importJsonl(page, [JSON.stringify({ id: 'h1', text: hostileText })]);
    const row = page.getByRole('row', { name: /h1/ });
    await row.waitFor();
    const content = row.locator('td').nth(1);
    expect(await content.textContent()).toContain(hostileText);
    expect(await content.locator('img, b').count()).toBe(0);

    // Give any injected handler the chance to run before checking nothing fired.
    await page.waitForTimeout(300);
    expect(dialogs).toEqual([]);
  });
});
