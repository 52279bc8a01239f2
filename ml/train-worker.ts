/** Worker-thread entry: trains one classifier per message and posts it back as artifacts. */
import { parentPort } from 'node:worker_threads';
import { initBackend } from './backend';
import { trainClassifier, type TrainClassifierRequest } from './classifier';
import { serializeModel } from './serialization';

parentPort?.on('message', (request: TrainClassifierRequest) => {
  initBackend()
    .then(() => {
      const serialized = serializeModel(trainClassifier(request));
      parentPort!.postMessage({ ok: true, serialized }, [serialized.weights.buffer as ArrayBuffer]);
    })
    .catch((error: unknown) => {
      parentPort!.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) });
    });
});
