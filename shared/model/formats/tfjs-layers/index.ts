// The TF.js Layers format (`format: tfjs-layers`, the registry's model.json + weight shards): TF.js
// loads the artifacts as they are; ONNX Runtime runs the graph this folder's exporter makes of them
// (once per model md5). The artifacts are read once, on first use, and shared by the engines tried.
import type { io } from '@tensorflow/tfjs';
import { exportedOnnxGraph } from '../onnx-export/exported-graph.js';
import { cardFacts, type ModelFormat } from '../types.js';
import { EXPORTER_VERSION, exportLayersModel } from './export-layers-model.js';
import { readModelArtifacts, type ModelArtifacts } from './layers-artifacts.js';

export const tfjsLayersFormat = {
  name: 'tfjs-layers',
  async load(request) {
    const { card } = request;
    let artifacts: Promise<ModelArtifacts> | undefined;
    const read = () => (artifacts ??= readModelArtifacts(request.dir, card.modelFile));
    return {
      ...cardFacts(request),
      onnxGraph: () => exportedOnnxGraph(request, `v${EXPORTER_VERSION}`, async () => exportLayersModel(await read(), card)),
      tfjs: { kind: 'layers', artifacts: async () => tfjsArtifacts(await read()) },
    };
  },
} as const satisfies ModelFormat;

/** The artifacts as tf.io.fromMemory takes them. */
export function tfjsArtifacts(artifacts: ModelArtifacts): io.ModelArtifacts {
  return {
    modelTopology: artifacts.modelTopology,
    weightSpecs: artifacts.weightSpecs as io.WeightsManifestEntry[],
    weightData: artifacts.weightData,
    ...(artifacts.format !== undefined ? { format: artifacts.format } : {}),
    ...(artifacts.generatedBy !== undefined ? { generatedBy: artifacts.generatedBy } : {}),
    convertedBy: artifacts.convertedBy ?? null,
  };
}
