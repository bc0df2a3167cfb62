// What cloudseg's own ONNX exports share (the TF.js Layers exporter, the SavedModel converter): the
// graph contract and an in-process cache by model md5, so a warm worker never re-exports a model.
import type { OnnxGraph } from '../../../engines/types.js';
import { exportedGraphIo } from '../../../engines/tensor-io.js';
import type { Logger } from '../../../logging.js';
import type { ModelCard } from '../../types.js';

/** Graph contract: input `input` NHWC float32 [n, h, w, bands]; output `probability`, the card's head done in the graph. */
export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'probability';

export interface ExportedGraph {
  onnx: Uint8Array;
  /** Input channels the topology declares (null when it leaves them open). */
  inputChannels: number | null;
  /** How many layers of each class were exported. */
  layerCounts: Record<string, number>;
}

export interface ExportRequest {
  card: ModelCard;
  /** The DVC md5 of the model directory: the cache key. */
  md5: string;
  logger?: Logger;
}

// Exported graphs by model md5 + head + exporter version; a handful covers hot swaps back and forth.
const exported = new Map<string, ExportedGraph>();
const MAX_CACHED_GRAPHS = 4;
let exportsRun = 0;

/**
 * The model's exported graph as the engines take it: exported by `run` once per model md5, head and
 * `version` (the exporter's, so graphs of an older exporter are not reused), then from the cache.
 */
export async function exportedOnnxGraph(request: ExportRequest, version: string, run: () => Promise<ExportedGraph>): Promise<OnnxGraph> {
  const { card } = request;
  const key = `${request.md5}:${card.output.activation}:${card.output.cloudChannel}:${card.classes?.length ?? 0}:${version}`;
  let graph = exported.get(key);
  if (!graph) {
    const started = performance.now();
    graph = await run();
    exportsRun++;
    request.logger?.info({ model: card.name, md5: request.md5, exportMs: Math.round(performance.now() - started), layers: graph.layerCounts, bytes: graph.onnx.byteLength }, 'model exported to ONNX');
    if (exported.size >= MAX_CACHED_GRAPHS) exported.delete(exported.keys().next().value!);
    exported.set(key, graph);
  }
  return {
    bytes: graph.onnx,
    path: null,
    externalData: [],
    readExternalData: async () => [],
    io: exportedGraphIo(INPUT_NAME, OUTPUT_NAME, card.classes !== undefined),
    inputChannels: graph.inputChannels,
  };
}

/** How many times an exporter ran in this process (a warm load must not add to it). */
export function exportCount(): number {
  return exportsRun;
}
