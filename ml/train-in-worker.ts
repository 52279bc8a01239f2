/**
 * Runs `trainClassifier` on a worker thread so the caller's event loop stays free. The worker
 * starts from a small .mjs bootstrap that registers tsx's ESM hooks in its own thread and then
 * imports train-worker.ts, so it works whether the parent runs under tsx, vitest or plain node.
 */
import { Worker } from 'node:worker_threads';
import type { TrainClassifierRequest, TrainedClassifier } from './classifier';
import { loadModel, type SerializedModel } from './serialization';

type WorkerReply = { ok: true; serialized: SerializedModel } | { ok: false; message: string };

function workerEntry(): URL {
  return new URL('./train-worker.mjs', import.meta.url);
}

/** Trains in a fresh worker thread and resolves with the trained classifier; the worker then exits. */
export function trainInWorker(request: TrainClassifierRequest): Promise<TrainedClassifier> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerEntry());
    let settled = false;
    const finish = (action: () => void) => {
      if (settled) return;
      settled = true;
      action();
      void worker.terminate();
    };
    worker.once('message', (reply: WorkerReply) =>
      finish(() => (reply.ok ? resolve(loadModel(reply.serialized)) : reject(new Error(reply.message)))),
    );
    worker.once('error', (error) => finish(() => reject(error)));
    worker.once('exit', (code) => finish(() => reject(new Error(`training worker exited with code ${code}`))));
    worker.postMessage(request);
  });
}
