// Chooses the engine for a model: `auto` tries ONNX Runtime natively (threads off the event loop),
// then tfjs-node (native TensorFlow where it installs), then ONNX Runtime on WebAssembly, then TF.js
// on WebAssembly (for a graph the exporter cannot convert); every step it skips is logged with the
// reason. An ONNX model runs on ONNX Runtime only. An engine named explicitly either loads or fails.
import { availableParallelism } from 'node:os';
import { CloudsegError, isCloudsegError } from '../errors.js';
import type { OnnxLayout } from '../config/onnx-layouts.js';
import { loadOnnxRuntimeNetwork } from './onnxruntime/index.js';
import type { BackendName, EngineLoadRequest, EngineNetwork, OnnxThreading } from './types.js';

export type { BackendName, EngineModel, EngineNetwork, EngineLoadRequest, OnnxGraph, OnnxThreading, TfjsModelSource } from './types.js';
export { BACKEND_NAMES } from './types.js';
export { ONNX_LAYOUTS, type OnnxLayout } from '../config/onnx-layouts.js';

export type EngineChoice = 'auto' | BackendName;

export interface EngineOptions {
  choice: EngineChoice;
  /** Cores inference may use. @default os.availableParallelism() */
  threads?: number;
  /**
   * 'intra-op': one ONNX Runtime session using every thread; 'sessions': one single-threaded
   * session per thread. Measured on 2 cores: intra-op 3.5 Mpx/s on one scene at a time against 2.3
   * (one session idles), 3.7 against 3.9 on a stream of tiles, ~500 MB less memory. @default 'intra-op'
   */
  onnxLayout?: OnnxLayout;
}

/** The threads/sessions split for ONNX Runtime. */
export function onnxThreading(options: Pick<EngineOptions, 'threads' | 'onnxLayout'>): OnnxThreading {
  const threads = Math.max(1, options.threads ?? availableParallelism());
  return (options.onnxLayout ?? 'intra-op') === 'intra-op' ? { sessions: 1, intraOpThreads: threads } : { sessions: threads, intraOpThreads: 1 };
}

export async function loadEngineNetwork(request: EngineLoadRequest, options: EngineOptions): Promise<EngineNetwork> {
  const { model } = request;
  const choice = options.choice;
  if (!model.tfjs && choice !== 'auto' && choice !== 'onnxruntime' && choice !== 'wasm') {
    const what = model.format === 'onnx' ? 'an ONNX model' : `a ${model.format} model`;
    throw new CloudsegError('BACKEND_UNAVAILABLE', `engine ${choice} is TF.js, which cannot run ${what}; use onnxruntime or wasm (ONNX Runtime on WebAssembly)`, {
      details: { backend: choice },
    });
  }
  if (choice !== 'auto') return logged(await loadOne(request, choice, options), options, request);
  const order: BackendName[] = !model.tfjs ? ['onnxruntime', 'wasm'] : ['onnxruntime', 'tfjs-node', 'wasm', 'tfjs-wasm'];
  const skipped: string[] = [];
  let exportFailed = false;
  for (const [i, engine] of order.entries()) {
    const last = i === order.length - 1;
    // onnxruntime-web runs the same exported graph: an export that failed for one fails for both.
    if (engine === 'wasm' && exportFailed) {
      skipped.push('wasm skipped (the ONNX export failed)');
      continue;
    }
    try {
      const network = await loadOne(request, engine, options);
      return logged(network, options, request, i === 0 ? 'auto: first choice' : `auto: ${skipped.join('; ')}`);
    } catch (err) {
      if (last || !fallsBack(err)) throw err;
      if (isCloudsegError(err) && err.code === 'MODEL_EXPORT_UNSUPPORTED') exportFailed = true;
      const reason = `${engine} unavailable (${isCloudsegError(err) ? err.code : 'error'}: ${(err as Error).message.slice(0, 200)})`;
      skipped.push(reason);
      // tfjs-node is optional: its absence is the normal case and not worth a warning.
      const log = engine === 'tfjs-node' ? request.logger?.info.bind(request.logger) : request.logger?.warn.bind(request.logger);
      log?.({ err: { code: isCloudsegError(err) ? err.code : undefined, message: (err as Error).message }, model: model.name, engine, next: order[i + 1] }, `${engine} cannot run this model; trying ${order[i + 1]}`);
    }
  }
  throw new CloudsegError('INTERNAL', 'no engine was tried');
}

function loadOne(request: EngineLoadRequest, engine: BackendName, options: EngineOptions): Promise<EngineNetwork> {
  switch (engine) {
    case 'onnxruntime':
      return loadOnnxRuntimeNetwork(request, onnxThreading(options), 'node');
    case 'wasm':
      // onnxruntime-web is single-threaded per session in Node: one session per core.
      return loadOnnxRuntimeNetwork(request, onnxThreading({ ...options, onnxLayout: 'sessions' }), 'web');
    default:
      return loadTfjsNetwork(request, engine);
  }
}

// Problems of the model itself (missing files, a wrong card) would fail on every engine: report
// them as they are. Anything else about ONNX Runtime (a layer it cannot export, the addon, a session
// it cannot create) is a reason to try TF.js.
function fallsBack(err: unknown): boolean {
  if (!(err instanceof CloudsegError)) return true;
  return !['MODEL_NOT_FOUND', 'MODEL_CARD_INVALID', 'MODEL_CHECKSUM_MISMATCH'].includes(err.code);
}

// TF.js (and its wasm binary) is loaded only when a TF.js engine is used: a worker on ONNX Runtime
// does not carry it in memory.
async function loadTfjsNetwork(...args: Parameters<typeof import('./tfjs/network.js').loadTfjsNetwork>): Promise<EngineNetwork> {
  const { loadTfjsNetwork: load } = await import('./tfjs/network.js');
  return load(...args);
}

function logged(network: EngineNetwork, options: EngineOptions, request: EngineLoadRequest, why?: string): EngineNetwork {
  const threading =
    network.engine === 'onnxruntime' ? onnxThreading(options) : network.engine === 'wasm' ? onnxThreading({ ...options, onnxLayout: 'sessions' }) : undefined;
  request.logger?.info({ engine: network.engine, requested: options.choice, ...(why ? { why } : {}), ...(threading ? { threading } : {}) }, 'inference engine selected');
  return network;
}
