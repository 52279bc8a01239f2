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
    });
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
    });
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
    });
    const first = batcher.call(1).then(() => events.push('answered 1'));
    const second = batcher.call(2).then(() => events.push('answered 2'));
    release();
    await Promise.all([first, second]);
    expect(events).toEqual(['run 1', 'run 2', 'answered 1', 'answered 2']);
  });

  it('with two batches at a time, splits the calls of one turn between them', async () => {
    const batches: number[][] = [];
    const { gate, release } = deferred();
    const batcher = new Batcher<number, number>(
      async (inputs) => {
        batches.push(inputs);
        await gate;
        return inputs;
      },
      { maxInFlight: 2 },
    );
    const burst = Promise.all([1, 2, 3, 4, 5].map((x) => batcher.call(x)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([[1, 2, 3], [4, 5]]);
    // Calls that come while both run wait, and go together when one is done.
    const later = Promise.all([6, 7].map((x) => batcher.call(x)));
    release();
    expect(await burst).toEqual([1, 2, 3, 4, 5]);
    expect(await later).toEqual([6, 7]);
    expect(batches).toEqual([[1, 2, 3], [4, 5], [6, 7]]);
  });

  it('keeps calls with the same key in one batch, in the order they came', async () => {
    const batches: string[][] = [];
    const batcher = new Batcher<string, string>(
      async (inputs) => {
        batches.push(inputs);
        return inputs;
      },
      { maxInFlight: 2, keyOf: (input) => input[0] },
    );
    expect(await Promise.all(['a1', 'b1', 'c1', 'a2'].map((x) => batcher.call(x)))).toEqual(['a1', 'b1', 'c1', 'a2']);
    expect(batches).toEqual([['a1', 'b1', 'a2'], ['c1']]);
  });
});
