import { afterAll, describe, expect, it } from 'vitest';
import { CancelledError, CancelSignal, RoundWorker } from '../../../server/jobs/ml-process.js';
import { ForegroundWork } from '../../../server/services/foreground-work.js';
import { inputs, request, texts } from '../../support/round-request.js';

/** A round request without what the worker takes separately (inputs, progress, incumbent). */
function workerRequest() {
  const { inputs: _inputs, onProgress: _onProgress, incumbent: _incumbent, ...rest } = request();
  return rest;
}

describe('RoundWorker', () => {
  const worker = new RoundWorker();
  afterAll(() => worker.close());

  it('hashes each text once per process and runs rounds off the main thread', async () => {
    const ids = Int32Array.from(texts, (_, i) => 1000 + i);
    const loads: number[][] = [];
    const load = async (wanted: number[]) => {
      loads.push(wanted);
      return wanted.map((id) => texts[id - 1000].text);
    };
    expect(await worker.ensureTexts(7, ids, load)).toBe(150);
    expect(await worker.ensureTexts(7, Int32Array.of(...ids, 2000), async (wanted) => (loads.push(wanted), ['extra text']))).toBe(1);
    expect(loads.map((l) => l.length)).toEqual([150, 1]);

    const rest = workerRequest();
    const progress: string[] = [];
    const result = await worker.runRound(
      { ...rest, roundId: 1, inputs: { kind: 'cached-text', projectId: 7, itemIds: ids } },
      { onProgress: (p) => progress.push(p.phase) },
    );
    expect(result.metrics!.accuracy).toBeGreaterThan(0.9);
    expect(progress).toContain('training');
    const tensorsAfterFirst = worker.lastNumTensors;
    await worker.runRound({ ...rest, roundId: 2, inputs: { kind: 'cached-text', projectId: 7, itemIds: ids } });
    expect(worker.lastNumTensors).toBe(tensorsAfterFirst);
  });

  it('stops a round on cancel', async () => {
    const signal = new CancelSignal();
    signal.cancel();
    const rest = workerRequest();
    await expect(
      worker.runRound({ ...rest, roundId: 3, inputs: { kind: 'values', values: inputs } }, { signal }),
    ).rejects.toBeInstanceOf(CancelledError);
  });

  it('hands a new model over in parts, and sends a model to the process only when the process has not kept it', async () => {
    const rest = workerRequest();
    const values = { kind: 'values', values: inputs } as const;
    const first = await worker.runRound({ ...rest, roundId: 11, inputs: values });
    const size = first.model.weightBytes;
    const whole = await worker.readWeights(11, 0, size);
    const half = Math.floor(size / 2);
    const parts = [await worker.readWeights(11, 0, half), await worker.readWeights(11, half, size)];
    expect(whole.length).toBe(size);
    expect(parts.map((part) => part.length)).toEqual([half, size - half]);
    expect(Buffer.concat(parts).equals(Buffer.from(whole))).toBe(true);
    await expect(worker.readWeights(999, 0, 1)).rejects.toThrow('no longer has the model of round 999');

    let loads = 0;
    const incumbent = { roundId: 11, load: async () => (loads++, { json: first.model.json, weights: whole }) };
    const second = await worker.runRound({ ...rest, roundId: 12, inputs: values, incumbent });
    expect(loads).toBe(0);
    expect(second.comparison?.count).toBe(30);
    await worker.close(); // a new process keeps nothing
    const third = await worker.runRound({ ...rest, roundId: 13, inputs: values, incumbent });
    expect(loads).toBe(1);
    expect(third.comparison).toEqual(second.comparison);
  });

  it.skipIf(process.platform === 'win32')('pauses its work while the server answers requests, and goes on once idle', async () => {
    const foreground = new ForegroundWork();
    const yielding = new RoundWorker();
    yielding.yieldTo(foreground);
    try {
      const load = async (wanted: number[]) => wanted.map((id) => `text ${id}`);
      await yielding.ensureTexts(1, Int32Array.of(1, 2, 3), load); // started and warm
      let answered = foreground.begin();
      let done = false;
      const work = yielding.ensureTexts(1, Int32Array.of(1, 2, 3, 4), load).then(() => (done = true));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(yielding.isPaused).toBe(true);
      expect(done).toBe(false);
      answered();
      await new Promise((resolve) => setImmediate(resolve));
      expect(yielding.isPaused).toBe(false);
      await work;

      // A server that is never idle still gets its work done, in short runs between pauses.
      answered = foreground.begin();
      expect(await yielding.ensureTexts(1, Int32Array.of(5, 6), load)).toBe(2);
      answered();
    } finally {
      await yielding.close();
    }
  });
});
