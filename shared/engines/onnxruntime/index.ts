// The ONNX Runtime engines: the native addon (`onnxruntime`) and the WebAssembly build (`wasm`,
// onnxruntime-web). Both run the ONNX graph the model's format hands them (an ONNX model as it is,
// a TF.js Layers model or SavedModel exported by its format) in inference threads, off the event loop.
import { CloudsegError } from '../../errors.js';
import type { EngineLoadRequest, EngineNetwork, OnnxThreading } from '../types.js';
import type { OnnxRuntimeKind } from './session-messages.js';
import { SessionPool } from './session-pool.js';

export type { OnnxRuntimeKind } from './session-messages.js';

export async function loadOnnxRuntimeNetwork(request: EngineLoadRequest, threading: OnnxThreading, runtime: OnnxRuntimeKind): Promise<EngineNetwork> {
  const { model } = request;
  if (!model.onnxGraph) {
    throw new CloudsegError('MODEL_EXPORT_UNSUPPORTED', `ONNX Runtime runs ONNX models, TF.js Layers models and SavedModels; this card's format is ${model.format}`);
  }
  await assertRuntimeAvailable(runtime);
  const graph = await model.onnxGraph();
  const external = graph.externalData.length > 0;
  const pool = await SessionPool.start({
    runtime,
    // The native runtime reads external data beside the file itself; WebAssembly is handed the bytes.
    onnx: external && runtime === 'node' ? null : graph.bytes,
    modelPath: graph.path,
    externalData: external && runtime === 'web' ? await graph.readExternalData() : [],
    sessions: threading.sessions,
    intraOpThreads: threading.intraOpThreads,
    io: graph.io,
  });
  const bands = model.bands;
  return {
    engine: runtime === 'node' ? 'onnxruntime' : 'wasm',
    // One more call than sessions keeps every session fed while the event loop prepares the next.
    parallelism: threading.sessions + 1,
    inputChannels: graph.inputChannels,
    run: (tiles, count, height, width) => pool.run(tiles, count, height, width, bands),
    numTensors: () => 0,
    dispose: () => pool.close(),
  };
}

// Both runtimes are regular dependencies, but the native addon can still fail to load (an
// unsupported platform): that is BACKEND_UNAVAILABLE, which `auto` answers with the next engine.
async function assertRuntimeAvailable(runtime: OnnxRuntimeKind): Promise<void> {
  const name = runtime === 'node' ? 'onnxruntime-node' : 'onnxruntime-web';
  try {
    await import(name);
  } catch (err) {
    throw new CloudsegError('BACKEND_UNAVAILABLE', `cannot load ${name}: ${(err as Error).message}`, { cause: err, details: { backend: runtime === 'node' ? 'onnxruntime' : 'wasm' } });
  }
}
