import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runAnnotators } from '../../bench/annotator-load.js';

describe('runAnnotators', () => {
  let server: Server;
  afterEach(() => new Promise((resolve) => server.close(resolve)));

  /** A server that leases two items per queue/next and stores every label; counts what it saw. */
  async function fakeServer() {
    const seen = { connections: 0, labels: 0 };
    let nextId = 0;
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('Content-Type', 'application/json');
        if (req.url!.endsWith('/queue/next')) {
          res.end(JSON.stringify({ items: [{ id: ++nextId, externalId: `x${nextId}` }, { id: ++nextId, externalId: `x${nextId}` }] }));
        } else {
          seen.labels += 1;
          res.statusCode = 201;
          res.end('{}');
        }
      });
    });
    server.on('connection', () => (seen.connections += 1));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
  }

  it('labels on from the warm-up into the measured seconds, counting each call in the part it was sent in', async () => {
    const { url, seen } = await fakeServer();
    let measuringCalls = 0;
    const annotators = new Map([1, 2, 3].map((i) => [`annotator-${i}`, `token-${i}`]));
    const result = await runAnnotators({
      url,
      projectId: 1,
      annotators,
      batch: 2,
      labelFor: () => 'bug',
      warmupSeconds: 0.3,
      seconds: 0.3,
      onMeasuring: () => (measuringCalls += 1),
    });
    expect(measuringCalls).toBe(1);
    // One connection per annotator for the whole run: nobody stopped and reconnected at the switch.
    expect(seen.connections).toBe(annotators.size);
    expect(result.warmup.acknowledged).toBeGreaterThan(0);
    expect(result.acknowledged).toBeGreaterThan(0);
    expect(result.warmup.acknowledged + result.acknowledged).toBe(seen.labels);
    expect(result.warmup.submitLatency.length + result.submitLatency.length).toBe(seen.labels);
  });
});
