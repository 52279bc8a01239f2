import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server';

const apiPolicy = "default-src 'none'; frame-ancestors 'none'";

/** On the running server the API's headers go onto Node's response, not through Hono: each once, on every answer. */
describe('security headers on the running server', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  }, 60_000);
  afterAll(() => server?.close());

  const expectApiHeaders = (res: Response) => {
    // A header set twice would read as two values joined by a comma.
    expect(res.headers.get('content-security-policy')).toBe(apiPolicy);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('same-origin');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    expect(res.headers.get('strict-transport-security')).toBe('max-age=15552000; includeSubDomains');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  };

  it('sends them with answers, refusals and errors of the API alike', async () => {
    const answers = [
      await server.api('GET', '/health'),
      await server.api('POST', '/projects', { name: 'No kind' }),
      await server.api('GET', '/no-such-route'),
      await fetch(`${server.url}/api/projects`),
    ];
    expect(answers.map((res) => res.status)).toEqual([200, 400, 404, 401]);
    answers.forEach(expectApiHeaders);
  });

  it("gives the web app's pages their own policy, not the API's", async () => {
    const page = await fetch(`${server.url}/projects/1`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).not.toContain("default-src 'none'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
