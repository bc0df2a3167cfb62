// The ONNX Runtime engines: the native addon (`onnxruntime`) and the WebAssembly build (`wasm`,
// onnxruntime-web). Both run the model's ONNX graph in inference threads, off the event loop: an
// ONNX model as it is, a TF.js Layers model or SavedModel exported to ONNX in memory (cached by the
// model's md5, so a warm worker never re-exports).
import { join } from 'node:path';
import { CloudsegError } from '../../errors.js';
import { readExternalData } from '../../model/formats/onnx/index.js';
import { loadSavedModelGraph } from '../../model/saved-model/load-saved-model.js';
import { exportedGraphIo, type TensorIo } from '../tensor-io.js';
import type { EngineLoadRequest, EngineNetwork, OnnxThreading } from '../types.js';
import { EXPORTER_VERSION, INPUT_NAME, OUTPUT_NAME, exportLayersModel, type ExportedGraph } from './export-layers-model.js';
import { CONVERTER_VERSION, convertFrozenGraph } from './convert-frozen-graph.js';
import type { OnnxRuntimeKind } from './session-messages.js';
import { SessionPool } from './session-pool.js';

export type { OnnxRuntimeKind } from './session-messages.js';

// Exported graphs by model md5 + head + exporter version; a handful covers hot swaps back and forth.
const exported = new Map<string, ExportedGraph>();
const MAX_CACHED_GRAPHS = 4;
let exportsRun = 0;

/** What a session pool is started with: the graph, where its tensors meet the tiles, its input channels. */
interface RunnableGraph {
  onnx: Uint8Array | null;
  modelPath: string | null;
  externalData: { path: string; data: Uint8Array }[];
  io: TensorIo;
  inputChannels: number | null;
}

export async function loadOnnxRuntimeNetwork(request: EngineLoadRequest, threading: OnnxThreading, runtime: OnnxRuntimeKind): Promise<EngineNetwork> {
  const { card } = request;
  if (card.format === 'tfjs-graph') {
    throw new CloudsegError('MODEL_EXPORT_UNSUPPORTED', `ONNX Runtime runs ONNX models, TF.js Layers models and SavedModels; this card's format is ${card.format}`);
  }
  await assertRuntimeAvailable(runtime);
  const graph = await runnableGraph(request, runtime);
  const pool = await SessionPool.start({
    runtime,
    onnx: graph.onnx,
    modelPath: graph.modelPath,
    externalData: graph.externalData,
    sessions: threading.sessions,
    intraOpThreads: threading.intraOpThreads,
    io: graph.io,
  });
  const bands = card.bands.length;
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

async function runnableGraph(request: EngineLoadRequest, runtime: OnnxRuntimeKind): Promise<RunnableGraph> {
  if (request.card.format === 'onnx') {
    const model = await request.onnxModel();
    const external = model.externalFiles.length > 0;
    return {
      // The native runtime reads external data beside the file itself; WebAssembly is handed the bytes.
      onnx: external && runtime === 'node' ? null : model.bytes,
      modelPath: model.path,
      externalData: external && runtime === 'web' ? await readExternalData(model) : [],
      io: model.plan.io,
      inputChannels: request.card.bands.length,
    };
  }
  const graph = await exportedGraph(request);
  return { onnx: graph.onnx, modelPath: null, externalData: [], io: exportedGraphIo(INPUT_NAME, OUTPUT_NAME, request.card.classes !== undefined), inputChannels: graph.inputChannels };
}

async function exportedGraph(request: EngineLoadRequest): Promise<ExportedGraph> {
  const { card } = request;
  const version = card.format === 'saved-model' ? `sm${CONVERTER_VERSION}:${JSON.stringify(card.signature ?? {})}` : `v${EXPORTER_VERSION}`;
  const key = `${request.md5}:${card.output.activation}:${card.output.cloudChannel}:${card.classes?.length ?? 0}:${version}`;
  const cached = exported.get(key);
  if (cached) return cached;
  const started = performance.now();
  const graph =
    card.format === 'saved-model'
      ? convertFrozenGraph(await loadSavedModelGraph(join(request.dir, card.modelFile), card.signature ?? {}), card)
      : exportLayersModel(await request.artifacts(), card);
  exportsRun++;
  request.logger?.info({ model: card.name, md5: request.md5, exportMs: Math.round(performance.now() - started), layers: graph.layerCounts, bytes: graph.onnx.byteLength }, 'model exported to ONNX');
  if (exported.size >= MAX_CACHED_GRAPHS) exported.delete(exported.keys().next().value!);
  exported.set(key, graph);
  return graph;
}

/** How many times the exporter ran in this process (a warm load must not add to it). */
export function exportCount(): number {
  return exportsRun;
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
