import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { hasChromium } from '../support/browser';
import { browserSuite } from '../support/browser-suite';
import { ticket, ticketLabels as labelNames } from '../support/tickets';

/** Long enough for two rounds to train on the test server's CPU backend. */
const ROUND_TIMEOUT_MS = 60_000;

describe.skipIf(!hasChromium)('the Model page in the browser', () => {
  let page: Page;
  let pageErrors: string[];
  let consoleErrors: string[];
  /** Event-stream requests the page has open. */
  let openStreams: number;

  const suite = browserSuite({ jobs: true });

  beforeEach(async () => {
    page = await suite.browser.newPage({ viewport: { width: 1280, height: 900 } });
    await suite.server.signIn(page);
    page.setDefaultTimeout(10_000);
    pageErrors = [];
    consoleErrors = [];
    openStreams = 0;
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // Content-Security-Policy violations are reported here, not as page errors.
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    const isStream = (url: string) => url.endsWith('/events');
    page.on('request', (request) => void (isStream(request.url()) && openStreams++));
    page.on('requestfailed', (request) => void (isStream(request.url()) && openStreams--));
    page.on('requestfinished', (request) => void (isStream(request.url()) && openStreams--));
  });

  afterEach(async () => {
    await page.close();
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });

  /** The API as `as` (the admin by default). */
  async function api(method: string, path: string, body?: unknown, contentType = 'application/json', as = suite.server.admin): Promise<Response> {
    return fetch(`${suite.server.url}/api${path}`, {
      method,
      headers: { Authorization: `Bearer ${as.token}`, ...(body !== undefined && { 'content-type': contentType }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  /** 90 labeled tickets (about 30 % in the holdout), 150 unlabeled, and a few human labels. */
  async function createTicketProject(): Promise<number> {
    const created = await api('POST', '/projects', {
      name: 'Support tickets',
      kind: 'text',
      labels: labelNames.map((name) => ({ name })),
      holdoutShare: 0.3,
      retrainEvery: 0,
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: number };
    const rows = Array.from({ length: 240 }, (_, i) => {
      const { id: externalId, text, truth } = ticket(i);
      return JSON.stringify(i < 90 ? { id: externalId, text, label: truth } : { id: externalId, text });
    }).join('\n');
    expect((await api('POST', `/projects/${id}/items`, rows, 'application/x-ndjson')).status).toBe(200);

    for (const [name, n] of [['ana', 5], ['ben', 3]] as const) {
      const annotator = await suite.server.member(name, id, 'annotator');
      const next = await api('POST', `/projects/${id}/queue/next`, { n }, 'application/json', annotator);
      const { items } = (await next.json()) as { items: { id: number; externalId: string }[] };
      for (const item of items) {
        const saved = await fetch(`${suite.server.url}/api/items/${item.id}/annotations`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${annotator.token}`, 'content-type': 'application/json', 'idempotency-key': `dashboard-${name}-${item.id}` },
          body: JSON.stringify({ label: ticket(Number(item.externalId.slice(1))).truth, durationMs: 2500 }),
        });
        expect(saved.status).toBe(201);
      }
    }
    return id;
  }

  const roundRow = (number: number) => page.locator(`[data-testid="round-row"][data-round="${number}"]`);

  async function launchFromForm(model: 'Softmax regression' | 'MLP'): Promise<void> {
    await page.getByLabel('Model', { exact: true }).selectOption({ label: model });
    if (model === 'MLP') await page.getByLabel('Hidden units').fill('16');
    await page.getByRole('button', { name: 'Launch round' }).click();
  }

  async function waitForSucceeded(number: number): Promise<void> {
    await roundRow(number).getByTestId('round-status').getByText('Succeeded').waitFor({ timeout: ROUND_TIMEOUT_MS });
  }

  it(
    'trains a launched round live, shows its curve and confusion matrix, and moves the promoted badge',
    async () => {
      const projectId = await createTicketProject();
      await page.goto(`${suite.server.url}/projects/${projectId}`);
      await page.getByRole('link', { name: 'Model & rounds' }).click();
      await page.getByRole('heading', { level: 1, name: 'Model' }).waitFor();
      await page.getByTestId('connection').getByText('Live').waitFor();
      expect(await page.getByTestId('stop-signal').textContent()).toContain('Too early to tell');
      // The human labels show up in the annotator table.
      const annotators = page.getByRole('region', { name: 'Annotators' });
      expect(await annotators.getByRole('row', { name: /ana/ }).textContent()).toMatch(/ana@example\.test\s*5\s*2\.5/);

      // A marker that a reload would wipe: everything below must arrive through the event stream.
      await page.evaluate(() => ((globalThis as unknown as { noReload: boolean }).noReload = true));

      await launchFromForm('Softmax regression');
      expect(await page.getByTestId('launch-message').textContent()).toContain('Round 1 is queued');
      await waitForSucceeded(1);
      expect(await roundRow(1).getByTestId('round-accuracy').textContent()).toMatch(/\d+\.\d % ± \d+\.\d/);
      expect(await roundRow(1).getByTestId('promoted-badge').count()).toBe(1);
      const curve = page.getByTestId('learning-curve');
      await curve.waitFor();
      const box = await curve.boundingBox();
      expect(box?.width).toBeGreaterThan(100);
      expect(box?.height).toBeGreaterThan(100);
      expect(await page.evaluate(() => (globalThis as unknown as { noReload?: boolean }).noReload)).toBe(true);

      // From now on rounds are promoted by hand, set on the project page's Retraining card.
      expect(openStreams).toBe(1);
      await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Support tickets' }).click();
      // Leaving the Model page closes its event stream.
      await expect.poll(() => openStreams).toBe(0);
      await page.getByLabel('Promote a finished round').selectOption('never');
      await page.getByRole('button', { name: 'Save retraining' }).click();
      await page.getByRole('region', { name: 'Retraining' }).getByRole('status').getByText('Saved.').waitFor();
      await page.getByRole('link', { name: 'Model & rounds' }).click();
      await page.getByTestId('connection').getByText('Live').waitFor();

      await launchFromForm('MLP');
      await waitForSucceeded(2);
      expect(await roundRow(2).getByTestId('promoted-badge').count()).toBe(0);
      const detail = page.getByTestId('round-detail');
      expect(await detail.getByRole('heading', { name: /Round 2/ }).count()).toBe(1);
      expect(await detail.getByTestId('promotion-decision').textContent()).toContain('by hand only');
      expect(await detail.getByTestId('epoch-loss').count()).toBe(1);

      // Round 1's detail: per-label figures and a confusion matrix summing to its holdout labels.
      await page.getByRole('button', { name: 'Round 1', exact: true }).click();
      await detail.getByRole('heading', { name: /Round 1/ }).waitFor();
      const matrix = detail.getByTestId('confusion-matrix');
      expect(await matrix.getByRole('columnheader').allTextContents()).toEqual(labelNames);
      const cells = (await matrix.locator('td.cell').allTextContents()).map((text) => Number(text.trim()));
      expect(cells).toHaveLength(9);
      const holdout = Number((await roundRow(1).locator('td').nth(2).textContent())!.split('/')[1]);
      expect(cells.reduce((a, b) => a + b, 0)).toBe(holdout);

      // Promote round 2, then roll back to round 1: the badge follows.
      await roundRow(2).getByRole('button', { name: 'Promote round 2' }).click();
      await roundRow(2).getByTestId('promoted-badge').waitFor();
      expect(await roundRow(1).getByTestId('promoted-badge').count()).toBe(0);
      await roundRow(1).getByRole('button', { name: 'Roll back to this round 1' }).click();
      await roundRow(1).getByTestId('promoted-badge').waitFor();
      await expect.poll(() => roundRow(2).getByTestId('promoted-badge').count()).toBe(0);
      expect(await page.getByRole('status').filter({ hasText: 'Rolled back to round 1' }).count()).toBe(1);
      expect(await page.evaluate(() => (globalThis as unknown as { noReload?: boolean }).noReload)).toBe(true);
    },
    3 * ROUND_TIMEOUT_MS,
  );
});
