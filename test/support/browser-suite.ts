/** One test server and one Chromium per browser test file, started before its tests and closed after. */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launchChromium } from './browser.js';
import { startTestServer, type TestServer } from './test-server.js';

export interface BrowserSuite {
  server: TestServer;
  browser: Browser;
}

/** Call inside a `describe`; the fields are set once its `beforeAll` has run. */
export function browserSuite(options: Parameters<typeof startTestServer>[0] = {}): BrowserSuite {
  const suite = {} as BrowserSuite;
  beforeAll(async () => {
    suite.server = await startTestServer(options);
    suite.browser = await launchChromium();
  });
  afterAll(async () => {
    await suite.browser?.close();
    await suite.server?.close();
  });
  return suite;
}
