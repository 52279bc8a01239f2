import { describe, expect, it } from 'vitest';
import { CancelledWrite, writeChunksInParallel } from '../../../server/services/chunk-writers.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('writing score chunks in parallel', () => {
  it('writes every chunk once, in order of index, even when a helper is still asking as the last one goes', async () => {
    for (const count of [1, 2, 3, 7, 20]) {
      const started: number[] = [];
      let asks = 0;
      await writeChunksInParallel({
        count,
        writers: 2,
        // The helper's question takes longer than a chunk: it often answers after the work ran out.
        mayHelp: async () => {
          await pause(3);
          return asks++ % 2 === 0;
        },
        pauseMs: 1,
        cancelled: () => false,
        write: async (index) => {
          started.push(index);
          await pause(1);
        },
      });
      expect(started).toEqual(Array.from({ length: count - 1 }, (_, i) => i + 1));
    }
  });

  it('leaves the work to the first writer while helping is not welcome', async () => {
    let active = 0;
    let most = 0;
    await writeChunksInParallel({
      count: 8,
      writers: 2,
      mayHelp: async () => false,
      pauseMs: 1,
      cancelled: () => false,
      write: async () => {
        most = Math.max(most, ++active);
        await pause(2);
        active--;
      },
    });
    expect(most).toBe(1);
  });

  it('stops at a cancel, keeping what was written', async () => {
    const written: number[] = [];
    const run = writeChunksInParallel({
      count: 10,
      writers: 2,
      mayHelp: async () => true,
      pauseMs: 1,
      cancelled: () => written.length >= 3,
      write: async (index) => {
        written.push(index);
        await pause(1);
      },
    });
    await expect(run).rejects.toBeInstanceOf(CancelledWrite);
    expect(written.length).toBeLessThan(9);
  });
});
