import { describe, expect, it } from 'vitest';
import { Batcher } from '../../../server/services/batcher.js';

function deferred() {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  return { gate, release };
}

describe('Batcher', () => {
  it('runs a lone call at once and groups the calls that arrive while batches run', async () => {
    const batches: number[][] = [];
    const { gate, release } = deferred();
    const batcher = new Batcher<number, number>(async (inputs) => {
      batches.push(inputs);
      await gate;
      return inputs.map((x) => x * 10);
    }, 1);
    const answers = Promise.all([1, 2, 3, 4].map((x) => batcher.call(x)));
    await Promise.resolve();
    expect(batches).toEqual([[1]]);
    release();
    expect(await answers).toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('fails only the call whose input is bad when a batch fails', async () => {
    const { gate, release } = deferred();
    const batcher = new Batcher<number, number>(async (inputs) => {
      await gate;
      if (inputs.includes(13)) throw new Error('unlucky');
      return inputs;
    }, 1);
    const first = batcher.call(0);
    const rest = [12, 13, 14].map((x) => batcher.call(x).then((v) => ({ v }), (e: Error) => ({ e: e.message })));
    release();
    await first;
    expect(await Promise.all(rest)).toEqual([{ v: 12 }, { e: 'unlucky' }, { v: 14 }]);
  });

  it('sends the waiting calls to the database before answering the batch that just finished', async () => {
    const events: string[] = [];
    const { gate, release } = deferred();
    const batcher = new Batcher<number, number>(async (inputs) => {
      events.push(`run ${inputs.join(',')}`);
      if (inputs[0] === 1) await gate;
      return inputs;
    }, 1);
    const first = batcher.call(1).then(() => events.push('answered 1'));
    const second = batcher.call(2).then(() => events.push('answered 2'));
    release();
    await Promise.all([first, second]);
    expect(events).toEqual(['run 1', 'run 2', 'answered 1', 'answered 2']);
  });
});
