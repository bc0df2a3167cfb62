// Chooses the engine for a model: `auto` tries ONNX Runtime (native, threads off the event loop),
// then tfjs-node (native TensorFlow where it installs), then TF.js on wasm; every step it skips is
// logged with the reason. An engine named explicitly either loads or fails.
import { availableParallelism } from 'node:os';
import { CloudsegError, isCloudsegError } from '../errors.js';
import type { BackendName } from '../model/types.js';
import type { OnnxLayout } from './onnx-layouts.js';
import { loadOnnxRuntimeNetwork } from './onnxruntime/index.js';
import type { EngineLoadRequest, EngineNetwork, OnnxThreading } from './types.js';

export type { EngineNetwork, EngineLoadRequest, OnnxThreading } from './types.js';
export { ONNX_LAYOUTS, type OnnxLayout } from './onnx-layouts.js';

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
  const { logger } = request;
  switch (options.choice) {
    case 'onnxruntime':
      return logged(await loadOnnxRuntimeNetwork(request, onnxThreading(options)), options, request);
    case 'auto':
      try {
        return logged(await loadOnnxRuntimeNetwork(request, onnxThreading(options)), options, request, 'auto: first choice');
      } catch (err) {
        if (!fallsBack(err)) throw err;
        logger?.warn(
          { err: { code: isCloudsegError(err) ? err.code : undefined, message: (err as Error).message }, model: request.card.name },
          'onnxruntime cannot run this model; falling back to TF.js (several times slower)',
        );
      }
      return logged(await loadTfjsNetwork(request, 'auto'), options, request, 'auto: onnxruntime unavailable for this model');
    default:
      return logged(await loadTfjsNetwork(request, options.choice), options, request);
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
  const threading = network.engine === 'onnxruntime' ? onnxThreading(options) : undefined;
  request.logger?.info({ engine: network.engine, requested: options.choice, ...(why ? { why } : {}), ...(threading ? { threading } : {}) }, 'inference engine selected');
  return network;
}
