/**
 * Runs `write(i)` once for every chunk index 1..count−1 (chunk 0 is the caller's), taking indices
 * in order, with up to `writers` at a time. Writer 0 always writes; the others first ask
 * `mayHelp()` and, while it answers no, wait `pauseMs` and ask again, so background writes can
 * stand aside for foreground work. Every writer awaits `beforeWrite()` (if given) before each
 * chunk it takes: a moment when the foreground can spare the database.
 */
export async function writeChunksInParallel(options: {
  count: number;
  writers: number;
  mayHelp: () => Promise<boolean>;
  pauseMs: number;
  cancelled: () => boolean;
  beforeWrite?: () => Promise<void>;
  write: (index: number) => Promise<void>;
}): Promise<void> {
  let next = 1;
  const writer = async (writerIndex: number) => {
    while (next < options.count) {
      if (options.cancelled()) throw new CancelledWrite();
      if (writerIndex > 0 && !(await options.mayHelp())) {
        await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
        continue;
      }
      await options.beforeWrite?.();
      // Another writer may have taken the last chunk while this one waited.
      if (next >= options.count) break;
      await options.write(next++);
    }
  };
  await Promise.all(Array.from({ length: options.writers }, (_, i) => writer(i)));
}

/** A cancel that arrived while chunks were being written; the chunks already written stay. */
export class CancelledWrite extends Error {
  constructor() {
    super('cancelled');
  }
}
