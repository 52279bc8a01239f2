/**
 * Chooses the fastest TensorFlow.js backend that loads on this machine: the native
 * `tfjs-node` binding when its optional install succeeded, else WebAssembly, else plain JS.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';

export type TfjsBackend = 'tensorflow' | 'wasm' | 'cpu';

let chosen: Promise<TfjsBackend> | undefined;

/** Initialises the backend once per process and answers which one is active. */
export function initBackend(): Promise<TfjsBackend> {
  chosen ??= pickBackend();
  return chosen;
}

async function pickBackend(): Promise<TfjsBackend> {
  try {
    const nodeBinding = '@tensorflow/tfjs-node';
    await import(/* @vite-ignore */ nodeBinding);
    if (await tf.setBackend('tensorflow')) return 'tensorflow';
  } catch {
    // Optional dependency absent or libtensorflow missing: fall through.
  }
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(wasmDir + path.sep);
    if (await tf.setBackend('wasm')) return 'wasm';
  } catch {
    // WebAssembly backend failed to initialise: fall through.
  }
  await tf.setBackend('cpu');
  return 'cpu';
}
