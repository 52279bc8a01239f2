import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { hasChromium } from '../support/browser';
import { browserSuite } from '../support/browser-suite';
import { startTestServer, testPassword } from '../support/test-server';

describe.skipIf(!hasChromium)('accounts in the browser', () => {
  let page: Page;
  let problems: string[];
  let dialogs: string[];

  const suite = browserSuite();

  beforeEach(async () => {
    page = await (await suite.browser.newContext()).newPage();
    page.setDefaultTimeout(10_000);
    problems = [];
    dialogs = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text())) problems.push(message.text());
    });
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
  });

  afterEach(async () => {
    await page.context().close();
    expect(problems).toEqual([]);
  });

  it('sends a visitor to sign in, and back to the page they wanted; signing out ends the session', async () => {
    const project = (await (await suite.server.api('POST', '/projects', { name: 'Behind login', kind: 'text', labels: [{ name: 'a' }, { name: 'b' }] })).json()) as { id: number };
    await page.goto(`${suite.server.url}/projects/${project.id}`);
    await page.waitForURL('**/login?next=*');
    await page.getByLabel('Email').fill(suite.server.admin.email);
    await page.getByLabel('Password').fill('not it');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('Wrong email or password');

    await page.getByLabel('Password').fill(testPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Behind login' }).waitFor();
    expect(await page.getByTestId('signed-in-as').textContent()).toBe('admin');
    const cookie = (await page.context().cookies()).find((c) => c.name === 'loopwise_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax' });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/login');
    const status = await page.evaluate(async () => (await fetch('/api/auth/me')).status);
    expect(status).toBe(401);
  });

  it('creates the first admin through the one-time setup link', async () => {
    const fresh = await startTestServer();
    try {
      await sql`delete from app_user`.execute(fresh.database.db);
      const link = await fresh.services.users.createSetupLink();
      await page.goto(`${fresh.url}/setup?token=${link!.token}`);
      await page.getByRole('heading', { name: 'Create the first admin' }).waitFor();
      await page.getByLabel('Email').fill('root@example.test');
      await page.getByLabel('Your name').fill('Root');
      await page.getByLabel('Password (at least 10 characters)').fill('a long enough password');
      await page.getByLabel('Password again').fill('a long enough password');
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByRole('heading', { name: 'Projects' }).waitFor();
      await page.getByRole('heading', { name: 'New project' }).waitFor();

      // The link is used up.
      await page.goto(`${fresh.url}/setup?token=${link!.token}`);
      await page.getByRole('heading', { name: 'This link does not work' }).waitFor();
    } finally {
      await fresh.close();
    }
  });

  it('invites a member by link, who joins with the role the lead chose', async () => {
    const project = (await (await suite.server.api('POST', '/projects', { name: 'Team', kind: 'text', labels: [{ name: 'a' }, { name: 'b' }] })).json()) as { id: number };
    const lead = await suite.server.member('team-lead', project.id, 'lead');
    await suite.server.signIn(page, lead);
    await page.goto(`${suite.server.url}/projects/${project.id}`);
    await page.getByRole('link', { name: 'Members' }).click();
    await page.getByRole('heading', { name: 'Members' }).waitFor();
    await page.getByLabel('Role', { exact: true }).selectOption('engineer');
    await page.getByRole('button', { name: 'Create invite link' }).click();
    const url = (await page.getByTestId('invite-link').textContent())!.trim();

    const guest = await (await suite.browser.newContext()).newPage();
    await guest.goto(url);
    await guest.getByRole('heading', { name: 'Join Team' }).waitFor();
    await guest.getByLabel('Email').fill('newcomer@example.test');
    await guest.getByLabel('Your name').fill('Newcomer');
    await guest.getByLabel('Password (at least 10 characters)').fill('newcomer password');
    await guest.getByLabel('Password again').fill('newcomer password');
    await guest.getByRole('button', { name: 'Create account' }).click();
    await guest.getByRole('heading', { level: 1, name: 'Team' }).waitFor();
    await guest.context().close();

    await page.reload();
    const row = page.getByTestId('member-row').filter({ hasText: 'newcomer@example.test' });
    expect(await row.getByRole('combobox').inputValue()).toBe('engineer');
    // Leads change roles and remove members; only admins deactivate accounts.
    expect(await row.getByRole('button', { name: /Deactivate account/ }).count()).toBe(0);
    await row.getByRole('combobox').selectOption('annotator');
    await expect.poll(async () => (await (await suite.server.api('GET', `/projects/${project.id}/members`)).json()) as unknown).toMatchObject({
      members: expect.arrayContaining([expect.objectContaining({ email: 'newcomer@example.test', role: 'annotator' })]),
    });

    await suite.server.signIn(page);
    await page.reload();
    await row.getByRole('button', { name: /Deactivate account/ }).click();
    await row.getByText('(deactivated)').waitFor();
    const login = await fetch(`${suite.server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'newcomer@example.test', password: 'newcomer password' }),
    });
    expect(login.status).toBe(401);
  });

  it('shows a new API token once and revokes it', async () => {
    await suite.server.signIn(page);
    await page.goto(`${suite.server.url}/tokens`);
    await page.getByLabel('Name').fill('nightly');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = (await page.getByTestId('new-token').locator('code').textContent())!;
    expect(secret).toMatch(/^lw_/);
    const auth = { headers: { Authorization: `Bearer ${secret}` } };
    expect((await fetch(`${suite.server.url}/api/auth/me`, auth)).status).toBe(200);
    await page.reload();
    expect(await page.content()).not.toContain(secret);
    await page.getByTestId('token-row').filter({ hasText: 'nightly' }).getByRole('button', { name: /Revoke/ }).click();
    await page.getByTestId('token-row').filter({ hasText: 'nightly' }).getByText('Revoked').waitFor();
    expect((await fetch(`${suite.server.url}/api/auth/me`, auth)).status).toBe(401);
  });

  it('renders hostile item text, label names, guidelines and user names as inert text', async () => {
    const payload = (where: string) => `<img src=x onerror="alert('${where}')"><script>alert('${where}')</script>`;
    const response = await suite.server.api('POST', '/projects', {
      name: payload('project'),
      kind: 'text',
      labels: [{ name: payload('label') }, { name: 'plain' }],
      guidelines: payload('guidelines'),
    });
    const project = (await response.json()) as { id: number };
    await fetch(`${suite.server.url}/api/projects/${project.id}/items`, {
      method: 'POST',
      headers: { authorization: `Bearer ${suite.server.admin.token}`, 'content-type': 'application/x-ndjson' },
      body: JSON.stringify({ id: 'x1', text: payload('item') }) + '\n',
    });
    const evil = await suite.server.services.users.create({ email: 'evil@example.test', name: payload('user'), password: testPassword, role: 'annotator', projectId: project.id });
    await suite.server.signIn(page, { id: evil.id, email: evil.email, token: '' });

    // The annotator's own pages: labeling shows item text, label names and guidelines.
    await page.goto(`${suite.server.url}/projects/${project.id}/label`);
    await page.getByTestId('current-item').waitFor();
    expect(await page.getByTestId('item-text').textContent()).toBe(payload('item'));
    expect(await page.getByTestId('signed-in-as').textContent()).toBe(payload('user'));
    await page.keyboard.press('1');
    await page.keyboard.press('?');
    await page.getByTestId('key-help').waitFor();

    // The lead's pages show the user name in the members list and the audit trail.
    await page.context().clearCookies();
    await suite.server.signIn(page);
    await page.goto(`${suite.server.url}/projects/${project.id}/members`);
    await page.getByTestId('member-row').first().waitFor();
    expect(await page.getByTestId('member-row').first().locator('td').first().textContent()).toBe(payload('user'));
    await page.goto(`${suite.server.url}/projects/${project.id}/audit`);
    await page.getByTestId('audit-row').first().waitFor();
    await page.goto(`${suite.server.url}/projects/${project.id}`);
    await page.getByTestId('guidelines').waitFor();

    await page.waitForTimeout(300);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.locator('script').filter({ hasText: 'alert(' }).count()).toBe(0);
    expect(dialogs).toEqual([]);
  });
});
