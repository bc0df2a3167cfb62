// Picks the TF.js inference backend once per process: native tfjs-node when it can be imported
// (production), else @tensorflow/tfjs on WebAssembly with SIMD; the pure-JS `cpu` only on request.
import * as tfjs from '@tensorflow/tfjs';
import { CloudsegError } from '../../errors.js';
import type { Logger } from '../../logging.js';
import type { BackendName } from '../types.js';

/** The TF.js engines: native TensorFlow, TF.js's own WebAssembly backend, pure JS. */
export type TfjsBackendName = Extract<BackendName, 'tfjs-node' | 'tfjs-wasm' | 'cpu'>;
export type BackendChoice = 'auto' | TfjsBackendName;
export type Tf = typeof import('@tensorflow/tfjs');

export interface SelectedBackend {
  tf: Tf;
  backend: TfjsBackendName;
}

// tfjs-node is an optionalDependency: a variable specifier keeps TypeScript from resolving it and
// lets the import fail at run time (as it does where its native addon cannot install).
const TFJS_NODE = '@tensorflow/tfjs-node';

// TF.js has one global engine, so the backend is process state: select it once per choice.
const selections = new Map<TfjsBackendName, Promise<SelectedBackend>>();

/**
 * Makes `choice` the active TF.js backend and returns the tf module to use with it. 'auto' prefers
 * tfjs-node and falls back to TF.js wasm. A backend that was asked for by name and cannot load is
 * BACKEND_UNAVAILABLE.
 */
export async function selectBackend(choice: BackendChoice, logger?: Logger): Promise<SelectedBackend> {
  if (choice === 'auto') {
    try {
      return await activate('tfjs-node', logger);
    } catch (err) {
      logger?.info({ err: { message: (err as Error).message } }, 'tfjs-node not available, falling back to wasm');
      return activate('tfjs-wasm', logger);
    }
  }
  return activate(choice, logger);
}

async function activate(name: TfjsBackendName, logger?: Logger): Promise<SelectedBackend> {
  let pending = selections.get(name);
  if (!pending) {
    pending = load(name, logger);
    selections.set(name, pending);
    // A failed load may be retried later (e.g. after installing the package); do not cache failure.
    pending.catch(() => selections.delete(name));
  }
  const selected = await pending;
  // Another model may have switched the global engine to a different backend since.
  if (selected.tf.getBackend() !== backendKey(name)) await selected.tf.setBackend(backendKey(name));
  return selected;
}

async function load(name: TfjsBackendName, logger?: Logger): Promise<SelectedBackend> {
  switch (name) {
    case 'tfjs-node': {
      let tf: Tf;
      try {
        tf = (await import(TFJS_NODE)) as Tf;
      } catch (err) {
        throw unavailable(name, `cannot import ${TFJS_NODE} (an optional dependency): ${(err as Error).message}`, err);
      }
      await use(tf, 'tensorflow', name);
      logger?.info({ backend: name, native: true }, 'inference backend selected');
      return { tf, backend: name };
    }
    case 'tfjs-wasm': {
      try {
        await import('@tensorflow/tfjs-backend-wasm');
      } catch (err) {
        throw unavailable(name, `cannot import @tensorflow/tfjs-backend-wasm: ${(err as Error).message}`, err);
      }
      await use(tfjs, 'wasm', name);
      const simd = Boolean(await tfjs.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
      const threads = Boolean(await tfjs.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
      // Node has no SharedArrayBuffer-backed Web Workers for emscripten's pthreads: the wasm backend
      // runs on one core whatever setThreadsCount says. Scale with one model per worker thread instead.
      logger?.info(
        { backend: name, simd, threads, note: threads ? undefined : 'wasm multithreading is not available in Node: one core per model' },
        'inference backend selected',
      );
      if (!simd) logger?.warn({ backend: name }, 'wasm SIMD unavailable: inference will be several times slower');
      return { tf: tfjs, backend: name };
    }
    case 'cpu': {
      await use(tfjs, 'cpu', name);
      logger?.warn({ backend: name, simd: false, threads: false }, 'inference backend selected: pure-JS cpu is about 12x slower than wasm');
      return { tf: tfjs, backend: name };
    }
  }
}

async function use(tf: Tf, key: string, name: TfjsBackendName): Promise<void> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(key);
    await tf.ready();
  } catch (err) {
    throw unavailable(name, `backend ${key} failed to initialise: ${(err as Error).message}`, err);
  }
  if (!ok || tf.getBackend() !== key) throw unavailable(name, `backend ${key} failed to initialise`);
}

function backendKey(name: TfjsBackendName): string {
  return name === 'tfjs-node' ? 'tensorflow' : name === 'tfjs-wasm' ? 'wasm' : name;
}

function unavailable(name: TfjsBackendName, message: string, cause?: unknown): CloudsegError {
  return new CloudsegError('BACKEND_UNAVAILABLE', message, { cause, details: { backend: name } });
}
