import { afterAll, describe, expect, it } from 'vitest';
import { CancelledError, CancelSignal, RoundWorker } from '../../../server/jobs/ml-process.js';
import { inputs, request, texts } from '../../support/round-request.js';

describe('RoundWorker', () => {
  const worker = new RoundWorker();
  afterAll(() => worker.close());

  it('hashes each text once per process and runs rounds off the main thread', async () => {
    const ids = texts.map((_, i) => 1000 + i);
    const loads: number[][] = [];
    const load = async (wanted: number[]) => {
      loads.push(wanted);
      return wanted.map((id) => texts[id - 1000].text);
    };
    expect(await worker.ensureTexts(7, ids, load)).toBe(150);
    expect(await worker.ensureTexts(7, [...ids, 2000], async (wanted) => (loads.push(wanted), ['extra text']))).toBe(1);
    expect(loads.map((l) => l.length)).toEqual([150, 1]);

    const { inputs: _inputs, onProgress: _onProgress, ...rest } = request();
    const progress: string[] = [];
    const result = await worker.runRound(
      { ...rest, inputs: { kind: 'cached-text', projectId: 7, itemIds: ids } },
      { onProgress: (p) => progress.push(p.phase) },
    );
    expect(result.metrics!.accuracy).toBeGreaterThan(0.9);
    expect(progress).toContain('training');
    const tensorsAfterFirst = worker.lastNumTensors;
    await worker.runRound({ ...rest, inputs: { kind: 'cached-text', projectId: 7, itemIds: ids } });
    expect(worker.lastNumTensors).toBe(tensorsAfterFirst);
  });

  it('stops a round on cancel', async () => {
    const signal = new CancelSignal();
    signal.cancel();
    const { inputs: _inputs, onProgress: _onProgress, ...rest } = request();
    await expect(
      worker.runRound({ ...rest, inputs: { kind: 'values', values: inputs } }, { signal }),
    ).rejects.toBeInstanceOf(CancelledError);
  });
});
