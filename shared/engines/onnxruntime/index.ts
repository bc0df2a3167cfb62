// The ONNX Runtime engine: the registry's TF.js Layers model or SavedModel, exported to ONNX in memory (cached by
// the model's md5, so a warm worker never re-exports) and run by onnxruntime-node's CPU provider in
// inference threads, off the event loop.
import { join } from 'node:path';
import { CloudsegError } from '../../errors.js';
import { loadSavedModelGraph } from '../../model/saved-model/load-saved-model.js';
import type { EngineLoadRequest, EngineNetwork, OnnxThreading } from '../types.js';
import { EXPORTER_VERSION, INPUT_NAME, OUTPUT_NAME, exportLayersModel, type ExportedGraph } from './export-layers-model.js';
import { CONVERTER_VERSION, convertFrozenGraph } from './convert-frozen-graph.js';
import { SessionPool } from './session-pool.js';

// Exported graphs by model md5 + head + exporter version; a handful covers hot swaps back and forth.
const exported = new Map<string, ExportedGraph>();
const MAX_CACHED_GRAPHS = 4;
let exportsRun = 0;

export async function loadOnnxRuntimeNetwork(request: EngineLoadRequest, threading: OnnxThreading): Promise<EngineNetwork> {
  const { card } = request;
  if (card.format !== 'tfjs-layers' && card.format !== 'saved-model') {
    throw new CloudsegError('MODEL_EXPORT_UNSUPPORTED', `the ONNX Runtime engine exports TF.js Layers models and SavedModels; this card's format is ${card.format}`);
  }
  await assertRuntimeAvailable();
  const graph = await exportedGraph(request);
  const pool = await SessionPool.start({
    onnx: graph.onnx,
    sessions: threading.sessions,
    intraOpThreads: threading.intraOpThreads,
    inputName: INPUT_NAME,
    outputName: OUTPUT_NAME,
  });
  const bands = card.bands.length;
  return {
    engine: 'onnxruntime',
    // One more call than sessions keeps every session fed while the event loop prepares the next.
    parallelism: threading.sessions + 1,
    inputChannels: graph.inputChannels,
    run: (tiles, count, height, width) => pool.run(tiles, count, height, width, bands),
    numTensors: () => 0,
    dispose: () => pool.close(),
  };
}

async function exportedGraph(request: EngineLoadRequest): Promise<ExportedGraph> {
  const { card } = request;
  const version = card.format === 'saved-model' ? `sm${CONVERTER_VERSION}:${JSON.stringify(card.signature ?? {})}` : `v${EXPORTER_VERSION}`;
  const key = `${request.md5}:${card.output.activation}:${card.output.cloudChannel}:${version}`;
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

// onnxruntime-node is a regular dependency, but its native addon can still fail to load (an
// unsupported platform): that is BACKEND_UNAVAILABLE, which `auto` answers with a TF.js engine.
async function assertRuntimeAvailable(): Promise<void> {
  try {
    await import('onnxruntime-node');
  } catch (err) {
    throw new CloudsegError('BACKEND_UNAVAILABLE', `cannot load onnxruntime-node: ${(err as Error).message}`, { cause: err, details: { backend: 'onnxruntime' } });
  }
}
